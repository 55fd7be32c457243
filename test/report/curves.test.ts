import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { type CurvesInput, accuracyKey, curvesSvg, writeCurves } from '../../src/report/curves.js';
import { niceTicks } from '../../src/report/plot.js';
import { svgToPng } from '../../src/report/rasterize.js';

/** Ten epochs, validation every second epoch (validationFreq = 2), as Keras's History would hold. */
function run(): CurvesInput {
  const epochs = Array.from({ length: 10 }, (_, i) => i + 1);
  return {
    epochs,
    history: {
      loss: epochs.map((e) => 2 / e),
      accuracy: epochs.map((e) => 1 - 0.5 / e),
      val_loss: epochs.map((e) => (e % 2 === 0 ? 2.2 / e : null)),
      val_accuracy: epochs.map((e) => (e % 2 === 0 ? 0.9 - 0.5 / e : null)),
    },
  };
}

function count(s: string, re: RegExp): number {
  return s.match(re)?.length ?? 0;
}

/** The `points` attribute of the polyline drawn for `key`, as [x, y] pixel pairs. */
function polyline(svg: string, key: string): number[][] {
  const m = svg.match(new RegExp(`<polyline[^>]*data-series="${key}"[^>]*points="([^"]*)"`));
  assert.ok(m, `no polyline for ${key}`);
  return m[1]!.split(' ').map((p) => p.split(',').map(Number));
}

test('curvesSvg draws both panels with titles, legends and one polyline per series', () => {
  const svg = curvesSvg(run(), { title: 'demo <run>' });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="960" height="400"/);
  assert.match(svg, />Accuracy<\/text>/);
  assert.match(svg, />Loss<\/text>/);
  for (const label of ['Training accuracy', 'Validation accuracy', 'Training loss', 'Validation loss']) {
    assert.ok(svg.includes(`>${label}</text>`), `legend label ${label}`);
  }
  assert.equal(count(svg, />Epoch<\/text>/g), 2);
  assert.equal(count(svg, /<polyline /g), 4);
  for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy']) assert.ok(svg.includes(`data-series="${key}"`));
  assert.ok(svg.includes('demo &lt;run&gt;'), 'the title is escaped');
});

test('curvesSvg shows validation points only on epochs that had validation', () => {
  const svg = curvesSvg(run());
  assert.equal(polyline(svg, 'loss').length, 10);
  assert.equal(polyline(svg, 'val_loss').length, 5);
  // The validation points sit at the x of the even epochs of the training line.
  const train = polyline(svg, 'accuracy');
  const val = polyline(svg, 'val_accuracy');
  assert.deepEqual(val.map((p) => p[0]), [1, 3, 5, 7, 9].map((i) => train[i]![0]));
});

test('curvesSvg handles a single epoch by drawing points', () => {
  const svg = curvesSvg({ epochs: [1], history: { loss: [0.7], accuracy: [0.5], val_loss: [0.8], val_accuracy: [0.4] } });
  assert.equal(count(svg, /<polyline /g), 4);
  // Each series gets one marker in the plot, plus one swatch marker in the legend.
  assert.equal(count(svg, /<circle /g), 8);
  assert.doesNotMatch(svg, /NaN|Infinity/);
});

test('curvesSvg without accuracy keeps two panels and says so', () => {
  const svg = curvesSvg({ epochs: [1, 2, 3], history: { loss: [1, 0.5, 0.25] } });
  assert.match(svg, />Accuracy<\/text>/);
  assert.match(svg, />no accuracy metric<\/text>/);
  assert.equal(count(svg, /<polyline /g), 1);
  assert.ok(svg.includes('>Training loss</text>'));
  assert.ok(!svg.includes('Validation'), 'no validation legend when there is no validation data');
});

test('curvesSvg shows only the accuracy series that exist', () => {
  const svg = curvesSvg({ epochs: [1, 2], history: { loss: [1, 0.5], val_loss: [1.1, 0.6], val_accuracy: [0.3, 0.4] } });
  assert.equal(count(svg, /<polyline /g), 3);
  assert.ok(svg.includes('>Validation accuracy</text>'));
  assert.ok(!svg.includes('>Training accuracy</text>'));
});

test('curvesSvg skips NaN and Infinity', () => {
  const svg = curvesSvg({ epochs: [1, 2, 3, 4], history: { loss: [2, Number.NaN, 1, Number.POSITIVE_INFINITY], accuracy: [0.1, 0.2, 0.3, 0.4] } });
  assert.equal(polyline(svg, 'loss').length, 2);
  assert.doesNotMatch(svg, /NaN|Infinity/);
  const allBad = curvesSvg({ epochs: [1, 2], history: { loss: [Number.NaN, Number.NaN] } });
  assert.match(allBad, />no finite values<\/text>/);
});

test('curvesSvg is deterministic', () => {
  assert.equal(curvesSvg(run(), { title: 't' }), curvesSvg(run(), { title: 't' }));
});

test('curvesSvg rejects bad input naming the argument', () => {
  assert.throws(() => curvesSvg({ epochs: [1, 2], history: { loss: [1] } }), /history\['loss'\] expected 2 values \(one per epoch\), received 1 values/);
  assert.throws(() => curvesSvg(run(), { width: 0 }), /width expected a finite number >= 320, received 0/);
});

test('accuracyKey follows Keras metric names', () => {
  assert.equal(accuracyKey({ loss: [], accuracy: [] }), 'accuracy');
  assert.equal(accuracyKey({ loss: [], val_acc: [] }), 'acc');
  assert.equal(accuracyKey({ loss: [], sparse_categorical_accuracy: [] }), 'sparse_categorical_accuracy');
  assert.equal(accuracyKey({ loss: [] }), undefined);
});

test('niceTicks uses round steps', () => {
  assert.deepEqual(niceTicks(0.45, 1.05, 6, false).values.map((v) => niceTicks(0.45, 1.05, 6, false).format(v)), ['0.5', '0.6', '0.7', '0.8', '0.9', '1.0']);
  assert.deepEqual(niceTicks(0.5, 3.5, 6, true).values, [1, 2, 3]);
});

/** Pixels that differ from the white background in columns [x0, x1). */
function inked(png: PNG, x0: number, x1: number): number {
  let n = 0;
  for (let y = 0; y < png.height; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      if (png.data[i]! < 200 || png.data[i + 1]! < 200 || png.data[i + 2]! < 200) n++;
    }
  }
  return n;
}

test('writeCurves writes a PNG of the requested size with both panels drawn, and the SVG beside it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'convkit-curves-'));
  try {
    const path = join(dir, 'curves.png');
    await writeCurves(run(), path, { width: 800, height: 300, svg: true });
    const bytes = await readFile(path);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(bytes.toString('latin1', 12, 16), 'IHDR');
    assert.equal(bytes.readUInt32BE(16), 800);
    assert.equal(bytes.readUInt32BE(20), 300);

    const png = PNG.sync.read(bytes);
    const left = inked(png, 0, 400);
    const right = inked(png, 400, 800);
    assert.ok(left > 2000, `left panel drew ${left} dark pixels`);
    assert.ok(right > 2000, `right panel drew ${right} dark pixels`);
    // Colour proves the series drew, not only the frame: tab:blue (31, 119, 180) and tab:orange (255, 127, 14).
    let blue = 0;
    let orange = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
      if (r < 60 && g > 90 && g < 150 && b > 150) blue++;
      if (r > 230 && g > 100 && g < 150 && b < 50) orange++;
    }
    assert.ok(blue > 200 && orange > 200, `blue ${blue}, orange ${orange}`);

    assert.equal(await readFile(join(dir, 'curves.svg'), 'utf8'), curvesSvg(run(), { width: 800, height: 300 }));
    assert.deepEqual((await readdir(dir)).sort(), ['curves.png', 'curves.svg'], 'no temporary files left');

    // Same input, same bytes; overwriting an existing file works.
    await writeCurves(run(), path, { width: 800, height: 300 });
    assert.deepEqual(await readFile(path), bytes);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('svgToPng renders text with the packaged font (no system fonts needed)', async () => {
  // resvg is given no system fonts, so glyphs appear only if the DejaVu TTF from npm loaded.
  const svg = (t: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="10" y="28" font-size="20">${t}</text></svg>`;
  const withText = PNG.sync.read(Buffer.from(await svgToPng(svg('Accuracy 0.95'))));
  const empty = PNG.sync.read(Buffer.from(await svgToPng(svg(''))));
  assert.equal(inked(empty, 0, 200), 0);
  assert.ok(inked(withText, 0, 200) > 100, `text drew ${inked(withText, 0, 200)} dark pixels`);
});
