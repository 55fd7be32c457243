import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bottleneck, classicTable, separable, stackedVsLarge } from '../../src/report/compare.js';
import { formatComparison } from '../../src/report/format.js';

test("two 3x3 against one 5x5: the course's formulas, and two 3x3 are cheaper exactly when x > 10", () => {
  const s = stackedVsLarge(5, 30);
  for (const r of s.rows) {
    const x = r.x;
    assert.deepEqual(r.twoConv3, { weights: 18, mults: 9 * (x - 2) ** 2 + 9 * (x - 4) ** 2 });
    assert.deepEqual(r.oneConv5, { weights: 25, mults: 25 * (x - 4) ** 2 });
    assert.equal(r.cheaper, x > 10 ? 'two 3x3' : x === 10 ? 'equal' : 'one 5x5', `x = ${x}`);
  }
  assert.equal(s.crossover, 'x > 10');
});

test('1x1 bottleneck 69,632 vs 1,179,648 parameters; depthwise-separable 656 vs 4,608', () => {
  const b = bottleneck();
  assert.equal(b.bottleneckParams, 69632);
  assert.equal(b.plainParams, 1179648);
  assert.ok(b.formula.some((l) => l.includes('1*1*256*64 + 3*3*64*64 + 1*1*64*256 = 16,384 + 36,864 + 16,384 = 69,632')));
  assert.ok(b.formula.some((l) => l.includes('2 * 3*3*256*256 = 1,179,648')));
  const d = separable();
  assert.equal(d.separableParams, 656);
  assert.equal(d.standardParams, 4608);
});

test('the classic networks table comes from the zoo, with the known parameter counts', () => {
  const rows = classicTable([['LeNet-5', 'lenet5'], ['AlexNet', 'alexnet8'], ['InceptionNet', 'inception10'], ['ResNet18', 'resnet18'], ['MobileNet v1 (224)', 'mobilenet']]);
  assert.deepEqual(rows.map((r) => r.params), [62006, 9639178, 121418, 11183562, 4253864]);
  assert.deepEqual(rows[0].inputShape, [32, 32, 3]);
  assert.equal(rows[0].receptiveField, 16);
  const text = formatComparison({ stacked: stackedVsLarge(9, 12), bottleneck: bottleneck(), separable: separable(), classic: rows });
  assert.match(text, /^ {3}10 +18 +900 +25 +900 +equal$/m);
  assert.match(text, /^ {3}11 +18 +1,170 +25 +1,225 +two 3x3$/m);
  assert.match(text, /ResNet18 +resnet18 +32x32x3 +11,183,562/);
});
