#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's test runner. Node 20's `node --test`
// expands no globs, and given a folder it would also run the helpers beside the tests (under test/ every .js
// counts), so the files are listed here. Extra arguments go to the runner, e.g. --test-name-pattern.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const testRoot = path.join(root, 'dist', 'test');
const files = readdirSync(testRoot, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => path.join(testRoot, f));
if (files.length === 0) {
  console.error(`convkit: no compiled tests under ${testRoot}; run tsc first`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...process.argv.slice(2), ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
