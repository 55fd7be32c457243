import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Conv2D, DepthwiseConv2D } from '../../src/layers/conv.js';
import { AveragePooling2D, MaxPooling2D } from '../../src/layers/pooling.js';
import { Random } from '../../src/tensor/random.js';
import { convDims, poolDims } from '../../src/report/dims.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1' } });

test("the course's examples: 200x200x1, 16 2x2 filters, stride 2 -> 100x100x16 and 80 params; 2x2 pooling of 100x100x15 -> 50x50x15", () => {
  const c = convDims({ input: [200, 200, 1], filters: 16, kernel: [2, 2], strides: [2, 2], padding: 'valid' });
  assert.deepEqual(c.outputShape, [null, 100, 100, 16]);
  assert.equal(c.params, 80);
  assert.ok(c.steps.includes('  K*F*F*D_in + K = 16*2*2*1 + 16 = 64 + 16 = 80'), c.steps.join('\n'));
  assert.ok(c.steps.some((l) => l.includes('ceil((H - F + 1) / S) = ceil((200 - 2 + 1) / 2) = ceil(199 / 2) = 100')));
  const p = poolDims({ input: [100, 100, 15], poolSize: [2, 2], strides: [2, 2] });
  assert.deepEqual(p.outputShape, [null, 50, 50, 15]);
  assert.equal(p.params, 0);
  const same = convDims({ input: [32, 32, 3], filters: 8, kernel: [3, 3], strides: [2, 2], padding: 'same' });
  assert.ok(same.steps.some((l) => l.includes('ceil(H / S) = ceil(32 / 2) = 16')));
  const dilated = convDims({ input: [32, 32, 3], filters: 8, kernel: [3, 3], dilation: [2, 2] });
  assert.deepEqual(dilated.outputShape, [null, 28, 28, 8]);
  assert.ok(dilated.steps.some((l) => l.includes('F_eff = (F - 1) * D + 1 = (3 - 1) * 2 + 1 = 5')));
});

test('dims agrees with the layers on a generated sweep of configurations', () => {
  const rng = new Random(7);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  let checked = 0;
  for (let i = 0; i < 400; i++) {
    const input: [number, number, number] = [int(1, 40), int(1, 40), int(1, 6)];
    const kernel: [number, number] = [int(1, 6), int(1, 6)];
    const dilate = rng.uniform() < 0.25;
    const strides: [number, number] = dilate ? [1, 1] : [int(1, 4), int(1, 4)];
    const dilation: [number, number] = dilate ? [int(1, 3), int(1, 3)] : [1, 1];
    const padding = rng.uniform() < 0.5 ? 'same' : 'valid';
    const useBias = rng.uniform() < 0.7;
    const depthwise = rng.uniform() < 0.3;
    const filters = int(1, 9);
    const layer = depthwise
      ? new DepthwiseConv2D({ kernelSize: kernel, strides, dilationRate: dilation, padding, useBias, depthMultiplier: filters, name: `sweep_dw_${i}` })
      : new Conv2D({ filters, kernelSize: kernel, strides, dilationRate: dilation, padding, useBias, name: `sweep_${i}` });
    const shape = [null, ...input];
    let expected: readonly (number | null)[];
    try {
      expected = layer.computeOutputShape(shape);
    } catch {
      // A window larger than the input: dims must refuse it too.
      assert.throws(() => convDims({ input, filters, kernel, strides, dilation, padding, useBias, depthwise, depthMultiplier: filters }), /kernelSize/);
      continue;
    }
    layer.build(shape);
    const d = convDims({ input, filters, kernel, strides, dilation, padding, useBias, depthwise, depthMultiplier: filters });
    assert.deepEqual(d.outputShape, expected, `config ${i}: ${JSON.stringify({ input, kernel, strides, dilation, padding, depthwise })}`);
    assert.equal(d.params, layer.countParams(), `config ${i}: params`);
    const poolKernel: [number, number] = [int(1, 4), int(1, 4)];
    const poolStrides: [number, number] = [int(1, 4), int(1, 4)];
    const pool = rng.uniform() < 0.5 ? new MaxPooling2D({ poolSize: poolKernel, strides: poolStrides, padding, name: `sweep_pool_${i}` }) : new AveragePooling2D({ poolSize: poolKernel, strides: poolStrides, padding, name: `sweep_avg_${i}` });
    try {
      const want = pool.computeOutputShape(shape);
      assert.deepEqual(poolDims({ input, poolSize: poolKernel, strides: poolStrides, padding }).outputShape, want, `pool config ${i}`);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.throws(() => poolDims({ input, poolSize: poolKernel, strides: poolStrides, padding }), /kernelSize/);
    }
    checked++;
  }
  assert.ok(checked > 250, `only ${checked} valid configurations`);
});

test('convkit dims: worked example, --json, and one-line errors with exit code 2', () => {
  const r = cli('dims', 'conv', '--input', '200,200,1', '--filters', '16', '--kernel', '2', '--strides', '2', '--padding', 'valid');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /= \(null, 100, 100, 16\)/);
  assert.match(r.stdout, /K\*F\*F\*D_in \+ K = 16\*2\*2\*1 \+ 16 = 64 \+ 16 = 80/);
  const j = cli('dims', 'conv', '--input', '200,200,1', '--filters', '16', '--kernel', '2', '--strides', '2', '--json');
  assert.deepEqual(JSON.parse(j.stdout), { outputShape: [null, 100, 100, 16], params: 80 });
  const p = cli('dims', 'pool', '--input', '100,100,15', '--pool-size', '2', '--json');
  assert.deepEqual(JSON.parse(p.stdout), { outputShape: [null, 50, 50, 15], params: 0 });
  for (const [args, pattern] of [
    [['dims', 'conv', '--input', '200,200', '--filters', '16', '--kernel', '2'], /^convkit: --input: expected H,W,C .* received '200,200'\n$/],
    [['dims', 'conv', '--input', '3,3,1', '--filters', '4', '--kernel', '5'], /^convkit: dims: argument 'kernelSize' expected a window no larger than the padded input, received kernel 5x5 over input 3x3/],
    [['dims', 'conv', '--input', '8,8,1', '--kernel', '3'], /^convkit: --filters: expected .* received nothing\n$/],
    [['dims', 'pool', '--input', '8,8,1', '--padding', 'full'], /^convkit: --padding: expected 'same' or 'valid', received 'full'\n$/],
  ] as const) {
    const e = cli(...args);
    assert.equal(e.status, 2, `${args.join(' ')}: ${e.stderr}`);
    assert.match(e.stderr, pattern);
    assert.equal(e.stderr.trim().split('\n').length, 1, 'one line');
  }
});

test('convkit summary --detail and convkit compare --json', () => {
  const s = cli('summary', 'lenet5', '--detail');
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /^Layer \(type\) +Output Shape +Param # +MACs +FLOPs +Elem\. ops +Act\. mem +RF +Jump$/m);
  assert.match(s.stdout, /^conv2d_1 \(Conv2D\) +\(null, 10, 10, 16\) +2,416 +240K +480K +3\.20K +6\.25 KiB +14 +2$/m);
  assert.match(s.stdout, /MACs: 651,720 +FLOPs \(2 x MACs, conv\/dense\): 1,303,440 forward, 3,204,720 per training image/);
  const j = JSON.parse(cli('summary', 'resnet18', '--detail', '--json').stdout);
  assert.equal(j.totals.params, 11183562);
  assert.ok(j.rows.some((r: { kind: string; type: string }) => r.kind === 'block' && r.type === 'ResnetBlock'));
  const c = cli('compare', '--json', '--from', '9', '--to', '11');
  assert.equal(c.status, 0, c.stderr);
  const data = JSON.parse(c.stdout);
  assert.deepEqual(data.stacked.rows.map((r: { cheaper: string }) => r.cheaper), ['one 5x5', 'equal', 'two 3x3']);
  assert.equal(data.bottleneck.bottleneckParams, 69632);
  assert.equal(data.separable.separableParams, 656);
  assert.equal(data.classic.length, 7);
});
