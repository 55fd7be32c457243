import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { benchVsTorch, type Measure } from '../../bench/vs-torch.js';

const bench = join(dirname(fileURLToPath(import.meta.url)), '../../bench/bench.js');

test('vs-torch alternates the two per round, convkit first in odd rounds, and takes the ratio per round', () => {
  const calls: string[] = [];
  // convkit's speed drifts down round by round; PyTorch's is steady at 100 train, 400 infer.
  let ckRound = 0;
  const convkit: Measure = (m) => {
    calls.push(`ck ${m}`);
    return { train: 300 - 50 * ckRound++, infer: 800 };
  };
  const torch: Measure = (m) => {
    calls.push(`pt ${m}`);
    return { train: 100, infer: 400 };
  };
  const rows = benchVsTorch(['lenet5'], () => 32, 3, 1, 2, convkit, torch);
  assert.deepEqual(calls, ['ck lenet5', 'pt lenet5', 'pt lenet5', 'ck lenet5', 'ck lenet5', 'pt lenet5']);
  assert.deepEqual(rows, [
    { model: 'lenet5', batch: 32, threads: 2, convkitTrain: 250, torchTrain: 100, convkitInfer: 800, torchInfer: 400, trainRatio: 2.5, inferRatio: 2, trainRatios: [3, 2.5, 2] },
  ]);
});

test('vs-torch: a failed measurement ends that model with its reason, the next model still runs', () => {
  const ok: Measure = () => ({ train: 10, infer: 20 });
  const failing: Measure = (m) => (m === 'vgg16' ? 'PyTorch exit 1: out of memory' : { train: 5, infer: 5 });
  const rows = benchVsTorch(['vgg16', 'lenet5'], () => 8, 2, 1, 1, ok, failing);
  assert.deepEqual(rows[0], { model: 'vgg16', batch: 8, error: 'PyTorch exit 1: out of memory' });
  assert.equal((rows[1] as { trainRatio: number }).trainRatio, 2);
});

test('bench --vs-torch runs a peer script through the Python it is given, table and json', { timeout: 120_000 }, (t) => {
  if (spawnSync('python3', ['-c', 'print(1)']).status !== 0) return t.skip('no python3 on this machine');
  const dir = mkdtempSync(join(tmpdir(), 'convkit-vs-torch-'));
  const script = join(dir, 'peer.py');
  // A stand-in for ../shared/peers/torch_bench.py: the arguments it is given come back in its JSON line.
  writeFileSync(script, 'import json, sys\na = sys.argv[1:]\nprint(json.dumps({"model": a[a.index("--model") + 1], "batch": int(a[a.index("--batch") + 1]), "threads": int(a[a.index("--threads") + 1]), "trainImagesPerSec": 1000.0, "inferImagesPerSec": 4000.0}))\n');
  const env = { ...process.env, CONVKIT_QUIET_NATIVE: '1' };
  const args = [bench, '--vs-torch', '--model', 'lenet5', '--rounds', '1', '--seconds', '0.1', '--python', 'python3', '--torch-script', script];
  const table = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^model\s+batch\s+convkit train\s+PyTorch train\s+ratio/m);
  assert.match(table.stdout, /^lenet5\s+32\s+[\d,.]+\s+1,000\.0\s+[\d.]+\s+[\d,.]+\s+4,000\.0\s+[\d.]+\s+[\d.]+$/m);
  const json = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8', env });
  assert.equal(json.status, 0, json.stderr);
  const j = JSON.parse(json.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(j.model, 'lenet5');
  assert.equal(j.torchTrain, 1000);
  assert.ok(typeof j.trainRatio === 'number' && j.trainRatio > 0 && (j.trainRatios as number[]).length === 1);
});

test('bench --vs-torch says where the peer script should be, and refuses a model the peer lacks', () => {
  const missing = spawnSync(process.execPath, [bench, '--vs-torch', '--model', 'lenet5', '--torch-script', '/nonexistent/peer.py'], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^bench --vs-torch: the PyTorch peer script \/nonexistent\/peer\.py does not exist \(--torch-script PATH names another\)/m);
  const mlp = spawnSync(process.execPath, [bench, '--vs-torch', '--model', 'mlp'], { encoding: 'utf8' });
  assert.equal(mlp.status, 2);
  assert.match(mlp.stderr, /^bench: --vs-torch: the PyTorch peer has no 'mlp'/m);
});
