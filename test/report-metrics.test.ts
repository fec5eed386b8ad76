import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, confusionMatrix, macroAverage, mostConfidentMistakes, perClassMetrics } from '../src/report/metrics.js';
import { judgeComparison } from '../src/report/comparison.js';

// Hand-checked: labels 0,0,0,1,1,2 predicted 0,0,1,1,2,2.
const labels = [0, 0, 0, 1, 1, 2];
const predicted = [0, 0, 1, 1, 2, 2];

test('confusion matrix: rows are true classes, columns predictions', () => {
  assert.deepEqual(confusionMatrix(labels, predicted, 3), [
    [2, 1, 0],
    [0, 1, 1],
    [0, 0, 1],
  ]);
  assert.equal(accuracy(labels, predicted), 4 / 6);
});

test('precision, recall and F1 per class match the hand computation', () => {
  const metrics = perClassMetrics(confusionMatrix(labels, predicted, 3), ['a', 'b', 'c']);
  const close = (actual: number | null, expected: number) => assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);
  close(metrics[0]!.precision, 1);
  close(metrics[0]!.recall, 2 / 3);
  close(metrics[0]!.f1, 0.8);
  close(metrics[1]!.precision, 0.5);
  close(metrics[1]!.recall, 0.5);
  close(metrics[1]!.f1, 0.5);
  close(metrics[2]!.precision, 0.5);
  close(metrics[2]!.recall, 1);
  close(metrics[2]!.f1, 2 / 3);
  assert.deepEqual(metrics.map((m) => m.support), [3, 2, 1]);
  close(macroAverage(metrics, 'recall'), (2 / 3 + 0.5 + 1) / 3);
});

test('a class never predicted has undefined precision, a class without examples undefined recall', () => {
  const metrics = perClassMetrics(confusionMatrix([0, 1], [0, 0], 3), ['a', 'b', 'c']);
  assert.equal(metrics[1]!.precision, null);
  assert.equal(metrics[1]!.recall, 0);
  assert.equal(metrics[1]!.f1, null);
  assert.equal(metrics[2]!.recall, null);
  assert.equal(metrics[0]!.precision, 0.5);
});

test('bad labels are reported with their position', () => {
  assert.throws(() => confusionMatrix([0, 5], [0, 1], 3), /labels\[1\] is 5, not a class index in 0\.\.2/);
  assert.throws(() => confusionMatrix([0], [0, 1], 3), /labels has 1 entries but predicted has 2/);
});

test('most confident mistakes are the wrong predictions sorted by their probability', () => {
  const probabilities = [
    [0.9, 0.1, 0],
    [0.6, 0.3, 0.1],
    [0.05, 0.95, 0],
    [0.2, 0.7, 0.1],
    [0.1, 0.2, 0.7],
    [0.1, 0.1, 0.8],
  ];
  const mistakes = mostConfidentMistakes(labels, predicted, probabilities, 5);
  assert.deepEqual(mistakes.map((m) => m.index), [2, 4]);
  assert.deepEqual(mistakes[0], { index: 2, actual: 0, predicted: 1, confidence: 0.95 });
  assert.equal(mostConfidentMistakes(labels, predicted, probabilities, 1).length, 1);
});

test('comparison marks the best row and rows below the scratch baseline', () => {
  const judged = judgeComparison([
    { method: 'Scratch training', accuracy: 0.8 },
    { method: 'fine-tune', accuracy: 0.9 },
    { method: 'frozen', accuracy: 0.75 },
  ]);
  assert.equal(judged.baseline?.method, 'Scratch training');
  assert.deepEqual(judged.rows.map((r) => [r.isBest, r.belowBaseline, r.isBaselineRow]), [
    [false, false, true],
    [true, false, false],
    [false, true, false],
  ]);
  assert.ok(Math.abs(judged.rows[2]!.deltaFromBaseline! + 0.05) < 1e-12);
  assert.equal(judgeComparison([{ method: 'a', accuracy: 0.5 }]).baseline, undefined);
});
