#!/usr/bin/env node
// Kernel times at batch 1 (and small batches) for the shapes of the zoo's inference passes, calling the addon
// directly with outputs reused (no allocation in the timing). Not a test.
//
//   node bench/small-batch.mjs [group] [--base path/to/other/convkit_native.node] [--rounds R]
//
// group: conv | dw | pool | probe | all (default); --only TEXT keeps the cases whose label contains TEXT; --threads N;
// --cpu times process CPU time instead of wall time (with --threads 1: immune to other processes' load). With --base, each case alternates between that addon and this
// one's build, round by round (5 calls each), and prints the median and the minimum of each: an A/B in one process on a shared machine.
import { createRequire } from 'node:module';
import { conv2dInfo, pool2dInfo } from '../dist/src/backend/geometry.js';
import { random } from './lcg.mjs';

const require = createRequire(import.meta.url);
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : fallback);
const group = argv[0] && !argv[0].startsWith('--') ? argv[0] : 'all';
const rounds = Number(opt('--rounds', '7'));
const addons = [['new', require('../build/Release/convkit_native.node')]];
if (opt('--base', null)) addons.unshift(['base', require(opt('--base'))]);
if (opt('--threads', null)) for (const [, ad] of addons) ad.setThreads(Number(opt('--threads')));
const only = opt('--only', null);
const cpu = argv.includes('--cpu');

const geomArr = (g) => Int32Array.from([g.n, g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw, g.dh ?? 1, g.dw ?? 1, g.padTop, g.padBottom, g.padLeft, g.padRight, g.oh, g.ow, g.outC ?? g.c, g.depthMultiplier ?? 1]);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const pause = (ms) => Atomics.wait(sleeper, 0, 0, ms);

const cases = [];
const conv = (n, h, c, outC, k, s, padding = 'same') => cases.push({ group: 'conv', label: `conv ${n}x${h}x${h}x${c}>${outC} k${k}s${s}`, make() {
  const g = conv2dInfo({ inputShape: [n, h, h, c], kernelSize: [k, k], strides: [s, s], padding, filters: outC });
  const x = random(g.n * g.h * g.w * g.c, 1), w = random(k * k * c * outC, 2), y = new Float32Array(g.n * g.oh * g.ow * outC), ga = geomArr(g);
  return { flops: 2 * g.n * g.oh * g.ow * k * k * c * outC, run: (ad) => ad.conv2d(x, w, y, ga) };
} });
const dw = (n, h, c, s) => cases.push({ group: 'dw', label: `dw ${n}x${h}x${h}x${c} k3s${s}`, make() {
  const g = conv2dInfo({ inputShape: [n, h, h, c], kernelSize: [3, 3], strides: [s, s], padding: 'same' });
  const x = random(g.n * g.h * g.w * g.c, 1), w = random(9 * c, 2), y = new Float32Array(g.n * g.oh * g.ow * c), ga = geomArr(g);
  return { flops: 2 * g.n * g.oh * g.ow * 9 * c, run: (ad) => ad.depthwiseConv2d(x, w, y, ga) };
} });
const pool = (n, h, c, k, s, padding) => cases.push({ group: 'pool', label: `maxPool ${n}x${h}x${h}x${c} k${k}s${s} ${padding}`, make() {
  const g = pool2dInfo({ inputShape: [n, h, h, c], kernelSize: [k, k], strides: [s, s], padding });
  const x = random(g.n * g.h * g.w * g.c, 1), y = new Float32Array(g.n * g.oh * g.ow * c), ga = geomArr(g);
  return { flops: 0, run: (ad) => ad.maxPool(x, y, ga) };
} });

// resnet18 / vgg16 (32x32 inputs) and mobilenet (224) at batch 1
for (const [h, c, o, k, s] of [[4, 512, 512, 3, 1], [8, 256, 256, 3, 1], [8, 256, 512, 3, 2], [8, 256, 512, 1, 2], [16, 128, 128, 3, 1], [16, 128, 256, 3, 2], [32, 64, 64, 3, 1],
  [2, 512, 512, 3, 1], [4, 256, 512, 3, 1], [8, 128, 256, 3, 1],
  [14, 512, 512, 1, 1], [7, 1024, 1024, 1, 1], [7, 512, 1024, 1, 1], [14, 256, 512, 1, 1], [28, 256, 256, 1, 1], [28, 128, 256, 1, 1], [1, 1024, 1000, 1, 1]]) conv(1, h, c, o, k, s);
for (const [h, c, o, k, s] of [[4, 512, 512, 3, 1], [14, 512, 512, 1, 1], [7, 1024, 1024, 1, 1], [1, 1024, 1000, 1, 1]]) conv(4, h, c, o, k, s);
// --conv n,h,c,outC,k,s adds a case of one's own
if (opt('--conv', null)) {
  const [n, h, c, o, k, s] = opt('--conv').split(',').map(Number);
  conv(n, h, c, o, k, s);
  cases.at(-1).group = 'probe';
}
for (const [h, c, s] of [[112, 32, 1], [112, 64, 2], [56, 128, 1], [56, 128, 2], [28, 256, 1], [28, 256, 2], [14, 512, 1], [14, 512, 2], [7, 1024, 1]]) dw(1, h, c, s);
for (const [h, c, s] of [[112, 32, 1], [56, 128, 1], [14, 512, 1]]) dw(32, h, c, s);
for (const [h, c, k, s, p] of [[16, 64, 3, 1, 'same'], [32, 16, 3, 1, 'same'], [8, 128, 3, 1, 'same'], [32, 64, 2, 2, 'valid'], [16, 128, 2, 2, 'valid'], [8, 256, 2, 2, 'valid'], [28, 6, 2, 2, 'valid'], [10, 16, 2, 2, 'valid']]) pool(1, h, c, k, s, p);
for (const [h, c, k, s, p] of [[16, 64, 3, 1, 'same'], [32, 64, 2, 2, 'valid']]) pool(32, h, c, k, s, p);

const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
for (const c of cases.filter((c) => (group === 'all' || c.group === group) && (!only || c.label.includes(only)))) {
  const { flops, run } = c.make();
  const times = addons.map(() => []);
  for (let r = 0; r < rounds; r++) {
    addons.forEach(([, ad], i) => {
      pause(2); // the other addon's pool stops spinning
      run(ad);
      if (cpu) {
        // CPU time of the process over 5 calls: with --threads 1, the work done whatever else runs on the machine.
        const c0 = process.cpuUsage();
        for (let k = 0; k < 5; k++) run(ad);
        const d = process.cpuUsage(c0);
        times[i].push((d.user + d.system) / 5e3);
        return;
      }
      for (let k = 0; k < 5; k++) {
        const t0 = process.hrtime.bigint();
        run(ad);
        times[i].push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    });
  }
  const cols = addons.map(([name], i) => {
    const ms = median(times[i]), min = Math.min(...times[i]);
    return `${name} ${(ms * 1000).toFixed(1).padStart(8)} us (min ${(min * 1000).toFixed(1).padStart(7)})${flops ? ` ${(flops / ms / 1e6).toFixed(1).padStart(6)} GF/s` : ''}`;
  });
  const ratio = addons.length === 2 ? `  x${(median(times[0]) / median(times[1])).toFixed(2)}` : '';
  console.log(`${c.label.padEnd(36)} ${cols.join('   ')}${ratio}`);
}
