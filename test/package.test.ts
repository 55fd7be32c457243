import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

test("plain Node ESM imports the package by name: compiled JavaScript with type declarations", () => {
  const script = "import { createModel, Sequential, Dense } from 'convkit'; const m = createModel('lenet5'); console.log(m.countParams(), typeof Sequential, typeof Dense);";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '62006 function function');
  const pkg = JSON.parse(spawnSync(process.execPath, ['-p', "JSON.stringify(require('./package.json'))"], { cwd: root, encoding: 'utf8' }).stdout);
  assert.equal(pkg.exports['.'].import, './dist/src/index.js');
  assert.equal(pkg.exports['.'].types, './dist/src/index.d.ts');
});
