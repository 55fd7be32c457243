#!/usr/bin/env node
// Builds the native backend, build/Release/convkit_native.node, from native/ with node-gyp.
//
// Runs at `npm install` (the package's `install` script) and by hand (`npm run build:native`). It must never
// make an install fail: convkit works without the addon, only slower. So every failure prints one line and
// exits 0 (pass --strict to exit 1 instead, for CI). Nothing is downloaded: node-gyp is npm's own copy and
// the headers are those of the running Node (--nodedir), which ship with it in <prefix>/include/node.
//
// Where MPI is installed (an `mpicxx` on the PATH), it also builds the optional MPI addon of distributed
// training, native/mpi/build/Release/convkit_mpi.node, from native/mpi/ (see docs/distributed.md). Without
// MPI that step is skipped in silence; its failure prints one line and never fails the install.
//
//   --verbose (or CONVKIT_BUILD_VERBOSE=1)  show the compiler output instead of saving it to a log
//   --strict                                exit 1 when the build fails
//   --mpi-only                              build only the MPI addon (and, with --strict, fail without MPI)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const self = path.join(root, 'scripts', 'build-native.mjs');
const addon = path.join(root, 'build', 'Release', 'convkit_native.node');
const logFile = path.join(root, 'build', 'convkit-native-build.log');
const verbose = process.argv.includes('--verbose') || process.env.CONVKIT_BUILD_VERBOSE === '1';
const strict = process.argv.includes('--strict');
const mpiOnly = process.argv.includes('--mpi-only');

function fail(reason) {
  console.log(
    `convkit: native backend not built (${reason}); running on the slower TypeScript backend. ` +
      `Run \`npx convkit build-native --verbose\` (or \`node ${self} --verbose\`) to retry.`,
  );
  process.exit(strict ? 1 : 0);
}

/** npm's bundled node-gyp, found next to the running node; `npx --no` only finds an installed one. */
function findNodeGyp() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const candidates = [
    process.env.npm_config_node_gyp, // npm sets this for lifecycle scripts
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return { cmd: process.execPath, args: [c] };
  try {
    const fromNpm = createRequire(path.join(prefix, 'lib', 'node_modules', 'npm', 'package.json'));
    return { cmd: process.execPath, args: [fromNpm.resolve('node-gyp/bin/node-gyp.js')] };
  } catch {
    // npm is laid out differently; ask npx for an installed node-gyp, never a download.
    return { cmd: process.platform === 'win32' ? 'npx.cmd' : 'npx', args: ['--no', 'node-gyp'] };
  }
}

/** The most telling line of a failed build's output. */
function reasonOf(output) {
  const lines = output.split('\n').map((l) => l.trim());
  const pick =
    lines.find((l) => /^gyp ERR! .*(find Python|Could not find any Python)/i.test(l)) ??
    lines.find((l) => /\berror\b:/i.test(l) && !/^gyp ERR!/.test(l)) ??
    lines.find((l) => /^FileNotFoundError:/.test(l)) ?? // gyp could not run the compiler
    lines.find((l) => /^gyp ERR! stack Error:/.test(l)) ??
    lines.find((l) => /^gyp ERR!/.test(l));
  if (!pick) return 'node-gyp failed';
  if (/^gyp ERR! .*Python/i.test(pick)) return 'Python 3, which node-gyp needs, was not found';
  // Compiler lines carry the build directory's relative path; `../native/x.cc:1:2: error: ...` reads better
  // as `native/x.cc:1:2: error: ...`.
  return pick.replace(/^gyp ERR! (stack )?/, '').replace(/^\.\.\//, '').slice(0, 200);
}

const nodedir = path.resolve(path.dirname(process.execPath), '..');
if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
  fail(`no Node headers in ${path.join(nodedir, 'include', 'node')}; they are not downloaded`);
}

const gyp = findNodeGyp();

/** The optional MPI addon; returns false when it was wanted (mpicxx present) and failed. */
function buildMpi() {
  const mpiDir = path.join(root, 'native', 'mpi');
  const mpiAddon = path.join(mpiDir, 'build', 'Release', 'convkit_mpi.node');
  const mpiLog = path.join(root, 'build', 'convkit-mpi-build.log');
  const which = spawnSync('mpicxx', ['--showme:compile'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) {
    if (mpiOnly) console.log('convkit: MPI addon not built: no Open MPI compiler wrapper (mpicxx --showme) on the PATH; install it with `apt-get install openmpi-bin libopenmpi-dev`');
    return !mpiOnly;
  }
  const r = spawnSync(gyp.cmd, [...gyp.args, 'rebuild', '--release', `--nodedir=${nodedir}`, `--directory=${mpiDir}`], {
    cwd: root,
    encoding: 'utf8',
    stdio: verbose ? 'inherit' : 'pipe',
    env: { ...process.env, npm_config_nodedir: nodedir },
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (!verbose) {
    try {
      mkdirSync(path.dirname(mpiLog), { recursive: true });
      writeFileSync(mpiLog, out);
    } catch {
      // a convenience only
    }
  }
  if (r.error || r.status !== 0 || !existsSync(mpiAddon)) {
    console.log(`convkit: MPI addon for distributed training not built (${r.error ? r.error.message : reasonOf(out)}${verbose ? '' : `; full log in ${mpiLog}`}); single-process training is unaffected.`);
    return false;
  }
  const probe = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(mpiAddon)}); console.log(a.version().split(',')[0])`], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log(`convkit: MPI addon built but does not load: ${(probe.stderr || '').trim().split('\n')[0]}`);
    return false;
  }
  console.log(`convkit: MPI addon built (${probe.stdout.trim()}) at ${path.relative(root, mpiAddon)}`);
  return true;
}
const mpiOk = buildMpi();
if (mpiOnly) process.exit(mpiOk || !strict ? 0 : 1);

const run = spawnSync(gyp.cmd, [...gyp.args, 'rebuild', '--release', `--nodedir=${nodedir}`, '--jobs=max'], {
  cwd: root,
  encoding: 'utf8',
  stdio: verbose ? 'inherit' : 'pipe',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
if (!verbose) {
  try {
    mkdirSync(path.dirname(logFile), { recursive: true });
    writeFileSync(logFile, output);
  } catch {
    // The log is a convenience; the one-line summary below is what matters.
  }
}
if (run.error) fail(`could not run node-gyp: ${run.error.message}`);
if (run.status !== 0) fail(`${reasonOf(output)}${verbose ? '' : `; full log in ${logFile}`}`);
if (!existsSync(addon)) fail(`node-gyp succeeded but ${addon} is missing`);

// Load it once in a child process: a binary that builds but cannot load (wrong libstdc++, say) is a failure.
const probe = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addon)}); console.log(JSON.stringify(a.info()))`], {
  encoding: 'utf8',
});
if (probe.status !== 0) fail(`the built addon does not load: ${(probe.stderr || '').trim().split('\n')[0]}`);
const info = JSON.parse(probe.stdout);
console.log(`convkit: native backend built (${info.isa} kernels, ${info.threads} threads) at ${path.relative(root, addon)}`);
