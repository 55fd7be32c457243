/**
 * The HTML report: self-contained (a CSP forbidding every request, no http(s) URL to load), the diagram with
 * blocks expanded, the per-layer table, and for a training run the curves, filters and feature maps. When
 * Debian's chromium is installed (/usr/bin/chromium) the page is also loaded in headless Chromium.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { resetLayerNames } from '../../src/layers/layer.js';
import { analyzeModel } from '../../src/report/analysis.js';
import { CSP } from '../../src/report/html.js';
import { buildReport, historyFromCsv } from '../../src/report/report.js';
import { createModel } from '../../src/zoo/index.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, CONVKIT_QUIET_NATIVE: '1' } });
const CHROMIUM = '/usr/bin/chromium';

function count(s: string, re: RegExp): number {
  return s.match(re)?.length ?? 0;
}

function assertSelfContained(html: string): void {
  assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${CSP}">`), 'CSP meta tag');
  assert.equal(CSP, "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'");
  assert.equal(count(html, /\b(src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(https?:|\/\/)/gi), 0, 'no network URL to load');
  assert.equal(count(html, /url\(\s*["']?(https?:|\/\/)/gi), 0, 'no network URL in CSS');
  assert.equal(count(html, /<(link|iframe|object|embed)\b/gi), 0, 'no external resources');
}

/** A training folder as `convkit train` leaves it: checkpoint (with history) and log.csv. */
function fakeRun(): string {
  const dir = mkdtempSync(join(tmpdir(), 'report-run-'));
  resetLayerNames(); // the CLI rebuilds the model in a fresh process: weight names must be the fresh ones
  const model = createModel('lenet5');
  const history = { epoch: [0, 1, 2], history: { loss: [2.1, 1.7, 1.4], accuracy: [0.2, 0.4, 0.5], val_loss: [2.0, 1.8, 1.6], val_accuracy: [0.25, 0.35, 0.45] } };
  saveCheckpoint(join(dir, 'checkpoint.safetensors'), model, { epoch: 3, model: { name: 'lenet5', zoo: 'lenet5', options: {} }, history });
  writeFileSync(join(dir, 'log.csv'), 'epoch,accuracy,loss,val_accuracy,val_loss\n0,0.2,2.1,0.25,2.0\n1,0.4,1.7,0.35,1.8\n2,0.5,1.4,0.45,1.6\n');
  return dir;
}

test('a zoo model report: diagram with Inception blocks expanded, one table row per analysis row, self-contained', () => {
  const model = createModel('inception10');
  const a = analyzeModel(model);
  const html = buildReport(model, { source: 'zoo model inception10' });
  assertSelfContained(html);
  assert.match(html, /<svg id="architecture"[^>]*>/);
  assert.equal(count(html, /<g class="block" data-row=/g), 4, 'four InceptionBlk frames');
  // Every leaf inside an expanded block is a box of its own: 4 blocks x (6 ConvBNRelu + pool + concat).
  const inBlocks = a.rows.filter((r) => r.parent !== null && a.rows[r.parent].type === 'InceptionBlk');
  assert.equal(inBlocks.length, 32);
  for (const r of inBlocks) assert.ok(new RegExp(`class="node [a-z]+" data-row="${r.id}"`).test(html), `box for ${r.name}`);
  assert.match(html, /<table id="layers">/);
  assert.equal(count(html, /<tr id="row-\d+"/g), a.rows.length);
  assert.equal(count(html, /<img /g), 0, 'no pictures for an untrained model');
});

test('a training run report: curves from log.csv, first-layer filters and feature maps as PNG data URIs', () => {
  const dir = fakeRun();
  try {
    const out = join(dir, 'report.html');
    const r = cli('report', dir, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Wrote .*report\.html \(\d+ KiB, self-contained\)\n$/);
    const html = readFileSync(out, 'utf8');
    assertSelfContained(html);
    assert.match(html, /<section id="training">/);
    assert.match(html, /Training accuracy/, 'curves legend');
    assert.match(html, /Filters of conv2d \(5×5×3, 6 filters\)/);
    assert.match(html, /Feature maps of conv2d \(28×28×6\)/);
    // 6 filters, the sample, 6 + up to 3 x 16 feature-map channels.
    assert.ok(count(html, /<img src="data:image\/png;base64,[A-Za-z0-9+/=]+"/g) >= 13);
    assert.deepEqual(historyFromCsv('epoch,loss,val_loss\n0,1.5,\n1,1.2,1.3\n'), { epochs: [1, 2], history: { loss: [1.5, 1.2], val_loss: [null, 1.3] } });
    const bad = cli('report', 'nonexistent-model', '--out', out);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^convkit: report: expected one of .*, or a model file \(.keras, .h5, .safetensors\) or training folder, received 'nonexistent-model'\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the report renders in headless Chromium: scripts run, pictures decode, diagram and table in the DOM, no request', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (apt-get install chromium to run this test)` }, () => {
  const dir = fakeRun();
  const profile = mkdtempSync(join(tmpdir(), 'report-chromium-'));
  try {
    const out = join(dir, 'report.html');
    assert.equal(cli('report', dir, '--out', out).status, 0);
    const html = readFileSync(out, 'utf8');
    const r = spawnSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', '--dump-dom', `file://${out}`], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    const dom = r.stdout;
    assert.match(dom, /<body[^>]* data-ready="1"/, 'the page script ran');
    const images = count(html, /<img /g);
    assert.match(dom, new RegExp(`data-images-loaded="${images}"`), `all ${images} data: pictures decoded under the CSP`);
    assert.match(dom, /<svg id="architecture"[^>]*>[\s\S]*<g class="node conv" data-row="\d+"/);
    assert.match(dom, /<table id="layers">[\s\S]*<tr id="row-1"/);
    // Console messages (a CSP violation, a script error) are logged as INFO:CONSOLE: the page has none.
    assert.doesNotMatch(r.stderr, /CONSOLE|Content Security Policy/, r.stderr.split('\n').filter((l) => /CONSOLE/.test(l)).join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
});
