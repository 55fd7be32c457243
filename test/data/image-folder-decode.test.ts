import { test } from 'node:test';
import assert from 'node:assert/strict';
import jpeg from 'jpeg-js';
import { prepareImage } from '../../src/data/image-folder/prepare.js';
import { PrepareSpec } from '../../src/data/image-folder/index.js';
import { ChannelCount, decodePixels, imageDimensions } from '../../src/images/decode.js';
import { cropPixels, smartResizeBox } from '../../src/images/resize.js';
import { encodePng, encodeProgressiveJpeg } from './image-fixtures.js';

const px = (bytes: Uint8Array, channels: ChannelCount, maxPixels?: number): number[] => [...decodePixels(bytes, channels, 'test', maxPixels).data];

test('PNG: grey, grey+alpha, RGB, RGBA to 1, 3 and 4 channels as tf.image.decode_png does', () => {
  const grey = encodePng({ width: 2, height: 2, colorType: 0, bitDepth: 8, samples: [0, 128, 255, 7] });
  assert.deepEqual(px(grey, 1), [0, 128, 255, 7]);
  assert.deepEqual(px(grey, 3), [0, 0, 0, 128, 128, 128, 255, 255, 255, 7, 7, 7]);
  assert.deepEqual(px(grey, 4), [0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 7, 7, 7, 255]);
  const greyAlpha = encodePng({ width: 2, height: 1, colorType: 4, bitDepth: 8, samples: [7, 100, 8, 200] });
  assert.deepEqual(px(greyAlpha, 4), [7, 7, 7, 100, 8, 8, 8, 200]);
  assert.deepEqual(px(greyAlpha, 3), [7, 7, 7, 8, 8, 8]); // alpha dropped, not blended
  assert.deepEqual(px(greyAlpha, 1), [7, 8]);
  const rgb = encodePng({ width: 4, height: 1, colorType: 2, bitDepth: 8, samples: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30] });
  // libpng rgb_to_gray(0.299, 0.587): (9797 R + 19234 G + 3737 B) >> 15
  assert.deepEqual(px(rgb, 1), [76, 149, 29, 18]);
  assert.deepEqual(px(rgb, 4).slice(12), [10, 20, 30, 255]);
  const rgba = encodePng({ width: 1, height: 1, colorType: 6, bitDepth: 8, samples: [1, 2, 3, 4] });
  assert.deepEqual(px(rgba, 4), [1, 2, 3, 4]);
  assert.deepEqual(px(rgba, 3), [1, 2, 3]);
});

test('PNG: palette (with tRNS), 1/4-bit grey and 16-bit samples', () => {
  const palette = encodePng({
    width: 3, height: 2, colorType: 3, bitDepth: 2, samples: [0, 1, 2, 3, 2, 1],
    palette: [[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]], trns: [10, 20],
  });
  assert.deepEqual(px(palette, 4), [255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 255, 9, 9, 9, 255, 0, 0, 255, 255, 0, 255, 0, 20]);
  assert.deepEqual(px(palette, 3).slice(0, 6), [255, 0, 0, 0, 255, 0]);
  assert.deepEqual(px(encodePng({ width: 4, height: 1, colorType: 0, bitDepth: 1, samples: [0, 1, 1, 0] }), 1), [0, 255, 255, 0]);
  assert.deepEqual(px(encodePng({ width: 3, height: 1, colorType: 0, bitDepth: 4, samples: [0, 1, 15] }), 1), [0, 17, 255]);
  // 16-bit: the high byte (libpng png_set_strip_16), not a rounded rescale (which would make 256 -> 1, 65279 -> 254).
  assert.deepEqual(px(encodePng({ width: 4, height: 1, colorType: 0, bitDepth: 16, samples: [0, 255, 256, 65279] }), 1), [0, 0, 1, 254]);
  const rgba16 = encodePng({ width: 1, height: 1, colorType: 6, bitDepth: 16, samples: [65535, 32768, 511, 1000] });
  assert.deepEqual(px(rgba16, 4), [255, 128, 1, 3]);
  const rgb16 = encodePng({ width: 1, height: 1, colorType: 2, bitDepth: 16, samples: [0xff00, 0, 0] });
  assert.deepEqual(px(rgb16, 4), [255, 0, 0, 255]);
});

test('JPEG: baseline (jpeg-js) and progressive (SOF2), grey and colour, decoded by content', () => {
  const w = 13;
  const h = 10;
  const rgb = Array.from({ length: w * h * 3 }, (_, i) => {
    const p = Math.floor(i / 3);
    return Math.round((((p % w) * 255) / (w - 1) + Math.floor(p / w) * 10 + (i % 3) * 30) % 256);
  });
  const grey = rgb.filter((_, i) => i % 3 === 0);
  const maxDiff = (a: number[], b: number[]): number => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  for (const [channels, src] of [[1, grey], [3, rgb]] as const) {
    const prog = encodeProgressiveJpeg(w, h, channels, src);
    assert.ok(prog.includes(Buffer.from([0xff, 0xc2])) && !prog.includes(Buffer.from([0xff, 0xc0])), 'a progressive frame header');
    assert.deepEqual(imageDimensions(prog), { width: w, height: h });
    const out = px(prog, channels);
    assert.ok(maxDiff(out, src) <= 3, `progressive ${channels}-channel JPEG differs by ${maxDiff(out, src)} levels`);
  }
  const rgba = new Uint8Array(w * h * 4);
  for (let p = 0; p < w * h; p++) rgba.set([...rgb.slice(p * 3, p * 3 + 3), 255], p * 4);
  const baseline = jpeg.encode({ data: rgba, width: w, height: h }, 100).data;
  const out3 = px(baseline, 3);
  assert.ok(maxDiff(out3, rgb) <= 4, `baseline JPEG differs by ${maxDiff(out3, rgb)} levels`);
  // Grey from a colour JPEG: libjpeg's Y = (19595 R + 38470 G + 7471 B + 32768) >> 16 of the decoded colours.
  const out1 = px(baseline, 1);
  out1.forEach((v, p) => assert.equal(v, (19595 * out3[p * 3] + 38470 * out3[p * 3 + 1] + 7471 * out3[p * 3 + 2] + 32768) >>> 16));
  assert.deepEqual(px(baseline, 4).filter((_, i) => i % 4 === 3), new Array(w * h).fill(255));
});

test('decodePixels refuses other formats by name, corrupt headers and decompression bombs before decoding', () => {
  assert.throws(() => decodePixels(Buffer.from('GIF89a\x01\x00\x01\x00'), 3, 'a.gif'), /a\.gif: expected a JPEG or PNG image, received a GIF image, which convkit cannot decode \(JPEG and PNG only\)/);
  assert.throws(() => decodePixels(Buffer.from('BM' + '\0'.repeat(40)), 3, 'b.bmp'), /received a BMP image/);
  assert.throws(() => decodePixels(Buffer.from('hello'), 3, 'c.png'), /c\.png: expected a JPEG or PNG image, received 5 bytes starting 68 65 6c 6c 6f/);
  const png = encodePng({ width: 1, height: 1, colorType: 0, bitDepth: 8, samples: [1] });
  const huge = Buffer.from(png);
  huge.writeUInt32BE(100000, 16);
  huge.writeUInt32BE(100000, 20); // IHDR says 10^10 pixels (the CRC is now wrong too, but we never get that far)
  assert.throws(() => decodePixels(huge, 3, 'bomb.png'), /bomb\.png: 100000x100000 = 10000000000 pixels exceeds the limit of 89478485/);
  assert.throws(() => decodePixels(png, 3, 'small', 0.5), /1x1 = 1 pixels exceeds the limit of 0\.5/);
  // Headers claiming more pixels than the file could encode are refused before any allocation: a 9000x9000
  // JPEG needs at least one bit per 16x16 area (ceil(9000 / 16)^2 / 8 = 39621 bytes); a 9000x9000 8-bit grey PNG at least 81e6 / 1032 bytes.
  const prog13 = encodeProgressiveJpeg(13, 10, 3, new Array(390).fill(50));
  const sof = prog13.indexOf(Buffer.from([0xff, 0xc2]));
  prog13.writeUInt16BE(9000, sof + 5);
  prog13.writeUInt16BE(9000, sof + 7);
  const t0 = Date.now();
  assert.throws(() => decodePixels(prog13, 3, 'bomb.jpg'), new RegExp(`bomb\\.jpg: its header claims 9000x9000 pixels, which a JPEG of ${prog13.length} bytes cannot hold \\(at least 39621 bytes\\)`));
  const bigPng = encodePng({ width: 9000, height: 1, colorType: 0, bitDepth: 8, samples: new Array(9000).fill(0) });
  bigPng.writeUInt32BE(9000, 20); // height 1 -> 9000 (the IHDR CRC would catch it later; we refuse first)
  assert.throws(() => decodePixels(bigPng, 1, 'bomb.png'), /bomb\.png: its header claims 9000x9000 pixels, which a PNG of \d+ bytes cannot hold \(at least 78488 bytes\)/);
  assert.ok(Date.now() - t0 < 500, `refusals took ${Date.now() - t0} ms`);
  assert.throws(() => decodePixels(png.subarray(0, 20), 3, 'cut.png'), /cut\.png: PNG header is truncated or corrupt/);
  assert.throws(() => decodePixels(png.subarray(0, 40), 3, 'cut2.png'), /cut2\.png: cannot decode PNG/);
  const prog = encodeProgressiveJpeg(8, 8, 1, new Array(64).fill(100));
  assert.throws(() => decodePixels(prog.subarray(0, 30), 1, 'cut.jpg'), /cut\.jpg: JPEG header is truncated or corrupt/);
});

test("resize geometry: smart_resize's crop box (int() truncation), TF bilinear taps, nearest, rounding to bytes", () => {
  // Keras's docstring example: (340, 500) to (200, 200) takes a centred 340x340 crop.
  assert.deepEqual(smartResizeBox(340, 500, 200, 200), { top: 0, left: 80, height: 340, width: 340 });
  // crop_w = int(5 * 2 / 3) = 3, left = int((8 - 3) / 2) = 2 (2.5 truncated).
  assert.deepEqual(smartResizeBox(5, 8, 3, 2), { top: 0, left: 2, height: 5, width: 3 });
  assert.deepEqual(smartResizeBox(7, 3, 1, 1), { top: 2, left: 0, height: 3, width: 3 });
  // Clamped to at least one pixel: crop_w = int(1 * 1 / 100) = 0 -> 1.
  assert.deepEqual(smartResizeBox(1, 100, 100, 1), { top: 0, left: 49, height: 1, width: 1 });
  assert.deepEqual(smartResizeBox(480, 640, 480, 640), { top: 0, left: 0, height: 480, width: 640 });
  const img = { width: 4, height: 2, channels: 1, data: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]) };
  assert.deepEqual([...cropPixels(img, { top: 1, left: 1, height: 1, width: 2 }).data], [5, 6]);
  assert.throws(() => cropPixels(img, { top: 1, left: 3, height: 1, width: 2 }), /must lie inside the 2x4 image/);

  const spec = (h: number, w: number, over: Partial<PrepareSpec> = {}): PrepareSpec => ({
    height: h, width: w, channels: 1, interpolation: 'bilinear', cropToAspectRatio: false, maxPixels: 1e6, ...over,
  });
  const row = encodePng({ width: 4, height: 1, colorType: 0, bitDepth: 8, samples: [0, 10, 20, 30] });
  // Bilinear 4 -> 3: sources 1/6, 3/2, 17/6 -> 1.67, 15, 28.33, rounded half up.
  assert.deepEqual([...prepareImage(row, spec(1, 3), 'row')], [2, 15, 28]);
  // 4 -> 8: half-pixel centres, clamped at the edges (tf.image.resize; 2.5 -> 3 etc. after rounding).
  assert.deepEqual([...prepareImage(row, spec(1, 8), 'row')], [0, 3, 8, 13, 18, 23, 28, 30]);
  // Nearest 4 -> 3: floor((x + 0.5) * 4 / 3) = 0, 2, 3.
  assert.deepEqual([...prepareImage(row, spec(1, 3, { interpolation: 'nearest' }), 'row')], [0, 20, 30]);
  // Crop to aspect: a 2x6 image to 1x1 takes the centred 2x2 (columns 2..3), then averages it.
  const wide = encodePng({ width: 6, height: 2, colorType: 0, bitDepth: 8, samples: [0, 0, 10, 20, 90, 90, 0, 0, 30, 40, 90, 90] });
  assert.deepEqual([...prepareImage(wide, spec(1, 1, { cropToAspectRatio: true }), 'wide')], [25]);
  // Without the crop, 2x6 to 2x2 samples columns 1 and 4; with it, the centred 2x2 is taken as is.
  assert.deepEqual([...prepareImage(wide, spec(2, 2), 'wide')], [0, 90, 0, 90]);
  assert.deepEqual([...prepareImage(wide, spec(2, 2, { cropToAspectRatio: true }), 'wide')], [10, 20, 30, 40]);
  // Upscale with crop: 2x6 to 4x4 crops 2x2 then resizes it.
  assert.deepEqual([...prepareImage(wide, spec(4, 4, { cropToAspectRatio: true }), 'wide')], [
    10, 13, 18, 20, 15, 18, 23, 25, 25, 28, 33, 35, 30, 33, 38, 40,
  ]);
});
