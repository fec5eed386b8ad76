/**
 * Int8 QDQ backbones against float32 on the shipped Fashion-MNIST data, with a source model trained here
 * (the demo's architecture, resnet18 width 16, small-input stem; its classes 0,1,3,5,8 as the source task).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrationSamples } from '../src/data/calibration-sample.js';
import { DataLoader } from '../src/data/loader.js';
import { DatasetView } from '../src/data/dataset.js';
import { fewShotSplit, splitByClass } from '../src/data/splits.js';
import { createResNet } from '../src/models/registry.js';
import type { ResNet } from '../src/models/resnet.js';
import { seedInitializers } from '../src/nn/init.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { DEFAULT_CALIBRATION_IMAGES, rowCosines } from '../src/runtime/int8.js';
import { evaluate } from '../src/train/evaluate.js';
import { fit } from '../src/train/fit.js';
import { copyWeights } from '../src/transfer/weights.js';
import { replaceHead, trainFixedFeature } from '../src/transfer/strategies.js';
import { loadPipelineData } from '../src/transfer/pipeline-data.js';

const SEED = 1;

async function trainedSource() {
  const data = await loadPipelineData(undefined);
  const source = splitByClass(data.dataset, [0, 1, 3, 5, 8]).target;
  // 300 training images per class keep the test short; the rest is held out.
  const { labelled: train, evaluation } = fewShotSplit(source, 300, SEED);
  const val = new DatasetView(evaluation, Int32Array.from({ length: 512 }, (_, i) => i));
  seedInitializers(SEED);
  const net = createResNet('resnet18', { numClasses: 5, inChannels: 1, width: 16, smallInput: true, weightInit: { kind: 'he-normal', mode: 'fan-out' } });
  const loader = (view: typeof train, batchSize: number, shuffle = false) => new DataLoader(view, { batchSize, shuffle, seed: SEED, transforms: data.transforms });
  const result = await fit(net, {
    epochs: 3, train: loader(train, 64, true), val: loader(val, 256), inputShape: data.inputShape,
    optimizer: { kind: 'momentum', momentum: 0.9, weightDecay: 5e-4 }, lr: 0.05, schedule: { kind: 'cosine' }, log: () => undefined,
  });
  return { data, net, train, val, accuracy: result.history[result.history.length - 1]!.valAccuracy };
}

let shared: Promise<Awaited<ReturnType<typeof trainedSource>>> | undefined;
const source = () => (shared ??= trainedSource());

test('int8 pooled features agree with float32 ones (cosine >= 0.99) on held-out Fashion-MNIST images, trained source model', async () => {
  const { data, net, train, val, accuracy } = await source();
  assert.ok(accuracy > 0.8, `the source model learned its task (val accuracy ${accuracy})`);
  // The default sample size (what a user who gives no --calibration-images gets).
  const samples = calibrationSamples(train, { calibration: DEFAULT_CALIBRATION_IMAGES, heldOut: 0, seed: SEED, name: 'source train split', transforms: data.transforms }, { dataset: val, name: 'source val split' });
  const runner = await InferenceRunner.create(net, data.inputShape, { until: 'flatten', int8: { ...samples, heldOut: undefined, cacheDir: null } });
  const reference = await InferenceRunner.create(net, data.inputShape, { until: 'flatten' });
  try {
    const report = runner.int8!;
    assert.equal(report.calibration.method, 'minmax');
    assert.equal(report.calibration.images, DEFAULT_CALIBRATION_IMAGES);
    assert.equal(report.quantized.convs, 20); // resnet18 small-input: 1 + 16 + 3 downsample
    assert.equal(report.quantized.foldedBatchNorms, 20);
    assert.ok(report.modelBytes.int8 < report.modelBytes.float32 / 3, `int8 model ${report.modelBytes.int8} bytes vs float32 ${report.modelBytes.float32}`);
    // Held-out: 256 validation images, none used for calibration.
    const loader = new DataLoader(val, { batchSize: 128, transforms: data.transforms });
    const cosines: number[] = [];
    let batches = 0;
    for await (const batch of loader.epoch(0)) {
      const n = batch.labels.length;
      const [a, b] = [await reference.run(batch.images, n), await runner.run(batch.images, n)];
      assert.deepEqual(a.shape, b.shape);
      cosines.push(...rowCosines(a.data, b.data, n));
      if (++batches === 2) break;
    }
    const mean = cosines.reduce((s, c) => s + c, 0) / cosines.length;
    process.stdout.write(`# int8 vs float32 pooled features over ${cosines.length} held-out images: mean cosine ${mean.toFixed(5)}, min ${Math.min(...cosines).toFixed(5)}\n`);
    assert.ok(mean >= 0.99, `mean cosine ${mean}`);
    assert.ok(Math.min(...cosines) >= 0.95, `min cosine ${Math.min(...cosines)}`);
  } finally {
    await Promise.all([runner.release(), reference.release()]);
  }
});

test("the demo's target task: fixed-feature accuracy with an int8 backbone is within 1 point of float32", async () => {
  const { data, net: sourceNet, train: sourceTrain } = await source();
  const target = splitByClass(data.dataset, [2, 4, 6, 7, 9]).target;
  const split = fewShotSplit(target, 10, SEED);
  const labelled = split.labelled;
  const evaluation = new DatasetView(split.evaluation, Int32Array.from({ length: 1500 }, (_, i) => i));
  const accuracies: Record<string, number> = {};
  for (const precision of ['float32', 'int8'] as const) {
    seedInitializers(SEED);
    const net: ResNet = createResNet('resnet18', { numClasses: 5, inChannels: 1, width: 16, smallInput: true });
    copyWeights(sourceNet, net);
    seedInitializers(SEED + 1);
    replaceHead(net, 5);
    const int8 = precision === 'int8'
      ? { ...calibrationSamples(sourceTrain, { calibration: DEFAULT_CALIBRATION_IMAGES, heldOut: 32, seed: SEED, name: 'source train split', transforms: data.transforms }), cacheDir: null }
      : undefined;
    await trainFixedFeature(net, {
      epochs: 30, train: new DataLoader(labelled, { batchSize: 10, shuffle: true, seed: SEED, transforms: data.transforms }), inputShape: data.inputShape,
      optimizer: { kind: 'momentum', momentum: 0.9 }, lr: 0.05, schedule: { kind: 'cosine' }, log: () => undefined, cacheFeatures: 'auto', int8,
    });
    const ev = await evaluate(net, new DataLoader(evaluation, { batchSize: 256, transforms: data.transforms }), data.inputShape, { int8 });
    accuracies[precision] = ev.accuracy;
  }
  process.stdout.write(`# fixed-feature target accuracy: float32 ${accuracies.float32!.toFixed(4)}, int8 ${accuracies.int8!.toFixed(4)}\n`);
  assert.ok(accuracies.float32! > 0.5, `the float32 baseline learned something (${accuracies.float32})`);
  assert.ok(Math.abs(accuracies.int8! - accuracies.float32!) <= 0.01, `int8 ${accuracies.int8} vs float32 ${accuracies.float32}`);
});
