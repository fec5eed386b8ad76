/**
 * The final evaluation from the val features fit's validation computed (train/cached-evaluation.ts) gives what
 * the whole network over a shuffled val loader gives: float32, and int8 with the frozen prefix at int8.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { calibrationSamples } from '../src/data/calibration-sample.js';
import { DatasetView } from '../src/data/dataset.js';
import { ImageFolder } from '../src/data/image-folder.js';
import { DataLoader } from '../src/data/loader.js';
import { compose, evalTransforms } from '../src/data/transforms.js';
import { createResNet } from '../src/models/registry.js';
import { seedInitializers } from '../src/nn/init.js';
import { Int8Builds } from '../src/runtime/int8.js';
import { evaluateOnFeatures } from '../src/train/cached-evaluation.js';
import { evaluateWithImages, type Evaluation } from '../src/train/evaluate.js';
import { trainFixedFeature } from '../src/transfer/strategies.js';
import { writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';

const SIZE = 32;
const SHAPE = [3, SIZE, SIZE];
let dir: string;
let train: ImageFolder;
let val: ImageFolder;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tlkit-cached-eval-'));
  const root = await writeTutorialImageFolder(path.join(dir, 'data'), { train: 6, val: 7, size: 40 });
  [train, val] = await Promise.all([ImageFolder.open(path.join(root, 'train')), ImageFolder.open(path.join(root, 'val'))]);
});
after(() => rm(dir, { recursive: true, force: true }));

const transforms = () => compose(evalTransforms(SIZE));
const loader = (dataset: ConstructorParameters<typeof DataLoader>[0], batchSize: number, shuffle = false) => new DataLoader(dataset, { batchSize, shuffle, seed: 3, transforms: transforms() });

function assertSameEvaluation(actual: Evaluation, expected: Evaluation, tolerance: number): void {
  assert.deepEqual(actual.indices, expected.indices, 'the shuffled loader\'s order');
  assert.deepEqual(actual.labels, expected.labels);
  assert.deepEqual(actual.predicted, expected.predicted);
  assert.ok(Math.abs(actual.loss - expected.loss) <= tolerance, `loss ${actual.loss} vs ${expected.loss}`);
  actual.probabilities.forEach((row, i) => row.forEach((p, c) => assert.ok(Math.abs(p - expected.probabilities[i]![c]!) <= tolerance, `probability ${i},${c}: ${p} vs ${expected.probabilities[i]![c]}`)));
}

for (const precision of ['float32', 'int8'] as const) {
  test(`evaluateOnFeatures: fit's val features give the whole network's evaluation over a shuffled loader (${precision})`, async () => {
    seedInitializers(5);
    const net = createResNet('resnet18', { numClasses: 2, width: 8 });
    const int8 = precision === 'int8'
      ? { ...calibrationSamples(train, { calibration: 8, heldOut: 0, seed: 1, name: 'train', transforms: transforms() }), cacheDir: null, builds: new Int8Builds() }
      : undefined;
    const result = await trainFixedFeature(net, {
      epochs: 2, train: loader(train, 4, true), val: loader(val, 5), inputShape: SHAPE, optimizer: { kind: 'momentum', momentum: 0.9 }, lr: 0.05, log: () => undefined, int8,
    });
    const features = result.valFeatures;
    assert.ok(features, 'fit returns the val features of its frozen prefix');
    assert.equal(features.batches.length, 3); // 14 val images in batches of 5
    assert.deepEqual(features.shape, [8 * 8]); // resnet18 width 8: 64 pooled channels (the prefix ends at flatten)
    assert.equal(features.int8 !== undefined, precision === 'int8');

    const shuffled = loader(val, 4, true);
    const fromFeatures = await evaluateOnFeatures(net, features, result.frozenStages, shuffled.order(0), 4);
    assert.ok(fromFeatures);
    const whole = await evaluateWithImages(net, shuffled, SHAPE, 0, { int8, int8Stages: result.frozenStages });
    assertSameEvaluation(fromFeatures, whole.evaluation, 1e-5);
    assert.ok(new Set(fromFeatures.predicted).size > 0 && fromFeatures.labels.length === 14);
    if (int8) assert.equal(whole.int8, features.int8, 'the same int8 graph');
  });
}

test('evaluateOnFeatures leaves out positions without features (images validation dropped), and answers undefined for none', async () => {
  seedInitializers(6);
  const net = createResNet('resnet18', { numClasses: 2, width: 8 });
  const result = await trainFixedFeature(net, { epochs: 1, train: loader(train, 4), val: loader(val, 5), inputShape: SHAPE, optimizer: { kind: 'sgd' }, lr: 0.01, log: () => undefined });
  const features = result.valFeatures!;
  const [first, ...rest] = features.batches;
  const partial = { ...features, batches: rest };
  const order = loader(val, 4, true).order(0);
  const evaluation = await evaluateOnFeatures(net, partial, result.frozenStages, order, 4);
  const dropped = new Set(first!.indices);
  assert.deepEqual(evaluation?.indices, Array.from(order).filter((i) => !dropped.has(i)));
  // The same examples through the whole network.
  const view = new DatasetView(val, Int32Array.from(evaluation!.indices));
  const whole = await evaluateWithImages(net, loader(view, 4), SHAPE, 0);
  assert.deepEqual(whole.evaluation.predicted, evaluation!.predicted);
  assert.equal(await evaluateOnFeatures(net, { ...features, batches: [] }, result.frozenStages, order, 4), undefined);
  await assert.rejects(evaluateOnFeatures(net, features, 0, order, 4), /0 frozen stages/);
});
