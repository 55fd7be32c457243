// Run by test/dist/folder.test.ts, alone or under mpirun: `node folder-worker.js DIR CACHE_DIR MEMORY_BUDGET SEED`
// loads DIR with imageDatasetFromDirectory (the first pass shared across the job's processes under mpirun) and
// prints one JSON line per process: what it decoded, what it warned, and a digest of the datasets' files,
// labels and pixels. CACHE_DIR's '%r' becomes the rank (a cache per process); SEED '-' loads without a seed
// or split, after rank 1 alone has drawn a random number (its generator then differs from rank 0's). DIR given
// as `DIR,OTHER` makes rank 1 load OTHER.
import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import { ImageFolderDataset, decodeStats, imageDatasetFromDirectory } from '../../src/data/image-folder/index.js';
import { initDistributed } from '../../src/dist/index.js';
import { globalRandom } from '../../src/tensor/random.js';

const args = process.argv.slice(2);
const group = initDistributed();
const rank = group?.rank ?? 0;
// `DIR,OTHER`: rank 1 loads OTHER (a folder that lists differently), every other rank DIR.
const dirs = args[0].split(',');
const dir = dirs[rank === 1 ? dirs.length - 1 : 0];
const [, cacheDir, budget, seedArg] = args;
const warnings: string[] = [];
const common = { imageSize: [6, 5] as [number, number], verbose: false, workers: 0, memoryBudget: Number(budget), cacheDir: cacheDir.replace('%r', String(rank)), onWarning: (m: string) => warnings.push(m.split(dir).join('DIR')) };
let sets: ImageFolderDataset[];
if (seedArg === '-') {
  if (rank === 1) globalRandom.int(10);
  sets = [await imageDatasetFromDirectory(dir, common)];
} else {
  sets = await imageDatasetFromDirectory(dir, { ...common, seed: Number(seedArg), validationSplit: 0.25, subset: 'both' });
}
const hash = createHash('sha256');
for (const s of sets) {
  const { x } = s.take(Int32Array.from(s.filePaths.keys()));
  hash.update(JSON.stringify([s.filePaths.map((p) => relative(dir, p)), Array.from(s.labels as Int32Array)]));
  hash.update(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
}
console.log(JSON.stringify({ rank, size: group?.size ?? 1, decoded: decodeStats.images, kinds: sets.map((s) => (s.cachePath ? 'disk' : 'memory')), warnings, digest: hash.digest('hex') }));
