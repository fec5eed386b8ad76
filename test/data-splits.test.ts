import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryDataset } from '../src/data/dataset.js';
import { fewShotSplit, splitByClass, trainValSplit } from '../src/data/splits.js';

/** 4 classes with 5, 6, 7, 8 examples; each image's single pixel is its index. */
function dataset(): InMemoryDataset {
  const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
  return new InMemoryDataset({
    images: Uint8Array.from(labels.map((_, i) => i)),
    shape: [labels.length, 1, 1, 1],
    labels: Int32Array.from(labels),
    classNames: ['bear', 'cat', 'dog', 'wolf'],
  });
}

test('splitByClass relabels each side 0..k-1 and keeps original names', async () => {
  const { source, target } = splitByClass(dataset(), ['wolf', 'cat']);
  assert.deepEqual(target.classNames, ['cat', 'wolf']);
  assert.deepEqual(target.originalLabels, [1, 3]);
  assert.deepEqual(source.classNames, ['bear', 'dog']);
  assert.equal(target.length, 6 + 8);
  assert.equal(source.length, 5 + 7);
  const labels = Array.from({ length: target.length }, (_, i) => target.labelAt(i));
  assert.deepEqual(labels, [...new Array<number>(6).fill(0), ...new Array<number>(8).fill(1)]);
  const sample = await target.get(6); // first wolf: original index 18
  assert.equal(sample.label, 1);
  assert.equal(sample.image[0], 18);
  assert.throws(() => splitByClass(dataset(), ['fox']), /unknown class "fox"/);
});

test('fewShotSplit takes n per class, the rest for evaluation, reproducibly', () => {
  const data = dataset();
  const a = fewShotSplit(data, 3, 42);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < a.labelled.length; i++) counts[a.labelled.labelAt(i)]!++;
  assert.deepEqual(counts, [3, 3, 3, 3]);
  assert.equal(a.evaluation.length, data.length - 12);
  const all = [...a.labelled.indices, ...a.evaluation.indices].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: data.length }, (_, i) => i));
  assert.deepEqual(fewShotSplit(data, 3, 42).labelled.indices, a.labelled.indices);
  const seeds = [1, 2, 3, 4, 5].map((s) => fewShotSplit(data, 3, s).labelled.indices.join());
  assert.ok(new Set(seeds).size > 1, 'different seeds choose different examples');
  assert.throws(() => fewShotSplit(data, 5), /class bear has 5 examples, needs more than 5/);
});

test('trainValSplit holds out the fraction of every class', () => {
  const data = dataset();
  const { train, val } = trainValSplit(data, 0.25, 7);
  const valCounts = [0, 0, 0, 0];
  for (let i = 0; i < val.length; i++) valCounts[val.labelAt(i)]!++;
  assert.deepEqual(valCounts, [1, 2, 2, 2]); // round(5/4), round(6/4), round(7/4), round(8/4)
  assert.equal(train.length + val.length, data.length);
  assert.equal(new Set([...train.indices, ...val.indices]).size, data.length);
  assert.deepEqual(trainValSplit(data, 0.25, 7).val.indices, val.indices);
});
