import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { decodeImage, imageFormat, readImage } from '../../src/images/decode.js';
import { decodePredictions, decodeWithLabels, imagenetClasses, topK } from '../../src/images/imagenet.js';
import { loadImages, preprocessInput, preprocessingFor } from '../../src/images/preprocess.js';
import { resizeImage } from '../../src/images/resize.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gradient } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'images-'));

test('PNG: RGBA drops alpha (as PIL convert RGB), grey is replicated, format is told by signature', () => {
  const rgba = gradient(5, 3);
  const png = pngjs.PNG.sync.write({ width: 5, height: 3, data: Buffer.from(rgba) } as pngjs.PNG);
  assert.equal(imageFormat(png), 'png');
  const img = decodeImage(png);
  assert.equal(img.width, 5);
  assert.equal(img.height, 3);
  for (let i = 0; i < 15; i++) assert.deepEqual(Array.from(img.data.subarray(i * 3, i * 3 + 3)), Array.from(rgba.subarray(i * 4, i * 4 + 3)));
  const grey = pngjs.PNG.sync.write({ width: 5, height: 3, data: Buffer.from(rgba) } as pngjs.PNG, { colorType: 0 });
  const g = decodeImage(grey);
  assert.equal(g.data[0], g.data[1]);
  assert.equal(g.data[1], g.data[2]);
  const path = join(dir, 'named-wrong.jpg');
  writeFileSync(path, png);
  assert.equal(readImage(path).width, 5, 'a PNG named .jpg still decodes');
});

test('JPEG decodes close to its source; bad input is refused with the file named', () => {
  const rgba = gradient(32, 24);
  const bytes = jpeg.encode({ data: rgba, width: 32, height: 24 }, 95).data;
  assert.equal(imageFormat(bytes), 'jpeg');
  const img = decodeImage(bytes);
  assert.equal(img.width, 32);
  assert.equal(img.height, 24);
  let err = 0;
  for (let i = 0; i < 32 * 24; i++) for (let k = 0; k < 3; k++) err = Math.max(err, Math.abs(img.data[i * 3 + k] - rgba[i * 4 + k]));
  assert.ok(err < 24, `max error ${err}`);
  assert.throws(() => decodeImage(new Uint8Array([1, 2, 3, 4]), "image 'x.bin'"), /^Error: image 'x\.bin': expected a JPEG or PNG image, received 4 bytes starting 01 02 03 04$/);
  assert.throws(() => decodeImage(bytes.subarray(0, 40), "image 'cut.jpg'"), /^Error: image 'cut\.jpg': cannot decode JPEG/);
  assert.throws(() => readImage(join(dir, 'none.png')), /image '.*none\.png': no such file/);
});

test('resize: nearest picks PIL pixels, bilinear uses half-pixel centres; a same-size resize is the image', () => {
  const img = { width: 4, height: 1, data: Uint8Array.from([0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30]) };
  assert.deepEqual(Array.from(resizeImage(img, 1, 2, 'nearest').data), [10, 10, 10, 30, 30, 30]); // floor((x + 0.5) * 2)
  assert.deepEqual(Array.from(resizeImage(img, 1, 8, 'nearest').data.filter((_, i) => i % 3 === 0)), [0, 0, 10, 10, 20, 20, 30, 30]);
  assert.deepEqual(Array.from(resizeImage(img, 1, 2, 'bilinear').data.filter((_, i) => i % 3 === 0)), [5, 25]);
  assert.deepEqual(Array.from(resizeImage(img, 1, 8, 'bilinear').data.filter((_, i) => i % 3 === 0)), [0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30]);
  assert.equal(resizeImage(img, 1, 4), img);
  assert.throws(() => resizeImage(img, 0, 4), /resizeImage: argument 'height' expected a positive integer, received 0/);
  assert.throws(() => resizeImage(img, 2, 2, 'cubic' as 'nearest'), /argument 'interpolation' expected one of 'nearest', 'bilinear', received 'cubic'/);
});

test("preprocessing modes match Keras's preprocess_input; each zoo model has its mode", () => {
  const x = new Tensor(Float32Array.from([0, 127.5, 255, 10, 20, 30]), [1, 1, 2, 3]);
  assert.deepEqual(Array.from(preprocessInput(x, 'tf').data), [-1, 0, 1, 10 / 127.5 - 1, 20 / 127.5 - 1, 30 / 127.5 - 1].map(Math.fround));
  const caffe = Array.from(preprocessInput(x, 'caffe').data);
  assert.deepEqual(caffe, [255 - 103.939, 127.5 - 116.779, 0 - 123.68, 30 - 103.939, 20 - 116.779, 10 - 123.68].map(Math.fround), 'BGR, mean subtracted');
  const torch = Array.from(preprocessInput(x, 'torch').data);
  assert.ok(Math.abs(torch[0] - (0 - 0.485) / 0.229) < 1e-6 && Math.abs(torch[2] - (1 - 0.406) / 0.225) < 1e-6);
  assert.deepEqual(Array.from(preprocessInput(x, 'unit').data), [0, 0.5, 1, 10 / 255, 20 / 255, 30 / 255].map(Math.fround));
  assert.deepEqual(Array.from(preprocessInput(x, 'centered').data), [-0.5, 0, 0.5, 10 / 255 - 0.5, 20 / 255 - 0.5, 30 / 255 - 0.5].map(Math.fround));
  assert.deepEqual(Array.from(preprocessInput(x, 'raw').data), [0, 127.5, 255, 10, 20, 30]);
  const grey = new Tensor(Float32Array.from([0, 255]), [1, 1, 2, 1]);
  assert.deepEqual(Array.from(preprocessInput(grey, 'centered').data), [-0.5, 0.5], 'the per-pixel modes take one channel');
  assert.equal(preprocessingFor('mobilenet'), 'tf');
  assert.equal(preprocessingFor('vgg16-slim'), 'caffe');
  assert.equal(preprocessingFor('resnet18'), 'unit');
  assert.throws(() => preprocessInput(new Tensor(new Float32Array(2), [1, 1, 1, 2]), 'caffe'), /expected 3 \(RGB\) channels for mode 'caffe', received shape \(1, 1, 1, 2\)/);
  const batch = loadImages([{ width: 2, height: 2, data: new Uint8Array(12).fill(255) }], { inputShape: [3, 3, 3], mode: 'tf' });
  assert.deepEqual(batch.shape, [1, 3, 3, 3]);
  assert.ok(batch.data.every((v) => v === 1));
});

test('decodePredictions: Keras class index shipped in the package, top-k highest first', () => {
  const classes = imagenetClasses();
  assert.equal(classes.length, 1000);
  assert.deepEqual(classes[386], { index: 386, wnid: 'n02504458', name: 'African_elephant' });
  assert.equal(classes[134].name, classes[517].name, "names repeat ('crane')");
  const probs = new Float32Array(2000);
  probs[386] = 0.9;
  probs[101] = 0.05;
  probs[1000 + 7] = 0.5;
  probs[1000 + 8] = 0.5;
  const out = decodePredictions(new Tensor(probs, [2, 1000]), 2);
  assert.deepEqual(out[0], [
    { index: 386, wnid: 'n02504458', name: 'African_elephant', score: Math.fround(0.9) },
    { index: 101, wnid: 'n01871265', name: 'tusker', score: Math.fround(0.05) },
  ]);
  assert.deepEqual(out[1].map((p) => p.index), [7, 8], 'ties: lower index first');
  assert.throws(() => decodePredictions(new Tensor(new Float32Array(10), [1, 10])), /decodePredictions: argument 'probs' expected shape \(samples, 1000\), received \(1, 10\)/);
  assert.throws(() => decodePredictions(new Tensor(probs, [2, 1000]), 0), /argument 'top' expected a positive integer, received 0/);
  assert.deepEqual(decodeWithLabels(new Tensor(Float32Array.from([0.1, 0.7, 0.2]), [1, 3]), ['a', 'b', 'c'], 5)[0].map((p) => p.name), ['b', 'c', 'a']);
  assert.deepEqual(topK([3, 1, 2], 2), [0, 2]);
});
