import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { KNearestNeighbours, NearestClassMean, accuracyOf } from '../src/transfer/neighbours.js';
import { SoftmaxRegression, type FeatureMatrix } from '../src/transfer/tensor-classifier.js';
import { learningRateAt, parseSchedule } from '../src/train/schedules.js';
import { fit } from '../src/train/fit.js';
import { trainFixedFeature, fineTune, replaceHead } from '../src/transfer/strategies.js';
import { resnet18 } from '../src/models/resnet.js';
import { seedInitializers } from '../src/nn/init.js';
import { InMemoryDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { readTrainingCheckpoint } from '../src/train/checkpoint.js';
import { mulberry32, normal } from '../src/util/random.js';

/** Three Gaussian blobs in 8 dimensions: any sound classifier separates them. */
function blobs(perClass: number, seed: number): { features: FeatureMatrix; labels: Int32Array } {
  const random = mulberry32(seed);
  const dimension = 8;
  const rows = perClass * 3;
  const values = new Float32Array(rows * dimension);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = r % 3;
    labels[r] = c;
    for (let d = 0; d < dimension; d++) values[r * dimension + d] = (d === c * 2 ? 4 : 0) + 0.7 * normal(random);
  }
  return { features: { values, rows, dimension }, labels };
}

test('feature-based classifiers learn separable features and fail on shuffled labels', async () => {
  const train = blobs(20, 1);
  const testSet = blobs(50, 2);
  const knn = new KNearestNeighbours(train.features, train.labels, 3, 5);
  assert.ok(accuracyOf(knn.predict(testSet.features), testSet.labels) > 0.9);
  const ncm = new NearestClassMean(train.features, train.labels, 3);
  assert.ok(accuracyOf(ncm.predict(testSet.features), testSet.labels) > 0.9);
  const softmax = await SoftmaxRegression.train(train.features, train.labels, { classes: 3, epochs: 60, batchSize: 12 });
  assert.ok(accuracyOf(await softmax.predict(testSet.features), testSet.labels) > 0.9);
  // Labels unrelated to the features: nothing can be learned that carries over.
  const shuffle = mulberry32(9);
  const scrambled = Int32Array.from(train.labels, () => Math.floor(shuffle() * 3));
  const chance = new KNearestNeighbours(train.features, scrambled, 3, 5);
  assert.ok(accuracyOf(chance.predict(testSet.features), testSet.labels) < 0.6);
});

test('learning-rate schedules', () => {
  assert.equal(learningRateAt({ kind: 'constant' }, 0.1, 50, 100, 10), 0.1);
  assert.ok(Math.abs(learningRateAt({ kind: 'step', everyEpochs: 2, gamma: 0.1 }, 1, 45, 100, 10) - 0.01) < 1e-12);
  assert.equal(learningRateAt({ kind: 'cosine' }, 0.1, 0, 100, 10), 0.1);
  assert.ok(learningRateAt({ kind: 'cosine' }, 0.1, 99, 100, 10) < 1e-9);
  const peak = learningRateAt({ kind: 'one-cycle' }, 0.1, 30, 100, 10);
  assert.ok(peak > learningRateAt({ kind: 'one-cycle' }, 0.1, 0, 100, 10) && peak > learningRateAt({ kind: 'one-cycle' }, 0.1, 99, 100, 10));
  assert.deepEqual(parseSchedule('step:3:0.5'), { kind: 'step', everyEpochs: 3, gamma: 0.5 });
  assert.throws(() => parseSchedule('sawtooth'), /unknown schedule "sawtooth"/);
});

/** Class k is a bright square at a class-specific corner of a 12x12 image. */
function squares(n: number, seed: number): InMemoryDataset {
  const random = mulberry32(seed);
  const images = new Uint8Array(n * 144);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    const [oy, ox] = [[1, 1], [1, 7], [7, 4]][c]!;
    for (let p = 0; p < 144; p++) images[i * 144 + p] = Math.floor(random() * 60);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) images[i * 144 + (oy! + y) * 12 + ox! + x] = 200 + Math.floor(random() * 55);
  }
  return new InMemoryDataset({ images, shape: [n, 1, 12, 12], labels, classNames: ['a', 'b', 'c'] });
}

test('fit learns, logs like the tutorial, keeps the best checkpoint and the resumable last one', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tlkit-fit-'));
  seedInitializers(1);
  const net = resnet18({ numClasses: 3, inChannels: 1, width: 4, smallInput: true, weightInit: { kind: 'he-normal', mode: 'fan-out' } });
  const lines: string[] = [];
  const result = await fit(net, {
    epochs: 4, train: new DataLoader(squares(48, 1), { batchSize: 12, shuffle: true, seed: 3 }), val: new DataLoader(squares(24, 2), { batchSize: 24 }),
    inputShape: [1, 12, 12], optimizer: { kind: 'momentum', momentum: 0.9 }, lr: 0.05, checkpointDir: dir, log: (l) => lines.push(l),
  });
  assert.equal(result.history.length, 4);
  assert.ok(result.bestAccuracy > 0.6, `best accuracy ${result.bestAccuracy}`);
  assert.ok(result.history[3]!.trainLoss < result.history[0]!.trainLoss);
  assert.match(lines.join('\n'), /Epoch: \[ {2}1\/ {2}4\], Average Train Loss: \[\d\.\d{3}\], Accuracy: \[\d\.\d{3}\]/);
  assert.match(lines.join('\n'), /epoch time: \d+\.\d{3} ms, per step time: \d+\.\d{3} ms/);
  assert.deepEqual((await readdir(dir)).sort(), ['best.ckpt', 'last.ckpt']);
  const last = await readTrainingCheckpoint(path.join(dir, 'last.ckpt'));
  assert.equal(last.state?.epoch, 4);
  assert.equal(last.state?.step, 16);
  assert.ok(last.optimizer.has('moments.fc.weight'));
  assert.ok(last.tensors.has('layer1.0.norm1.moving_mean'));
});

test('fixed features train only the head; fine-tuning from layer4 leaves earlier layers untouched', async () => {
  seedInitializers(2);
  const net = replaceHead(resnet18({ numClasses: 5, inChannels: 1, width: 4, smallInput: true }), 3);
  const before = new Map(net.parameters().map((p) => [p.name, Float32Array.from(p.data)]));
  const common = { epochs: 2, train: new DataLoader(squares(24, 3), { batchSize: 12, shuffle: true }), inputShape: [1, 12, 12], optimizer: { kind: 'momentum' as const, momentum: 0.5 }, lr: 0.01, log: () => undefined };
  await trainFixedFeature(net, common);
  const changed = (name: string) => net.parameters().find((p) => p.name === name)!.data.some((v, i) => v !== before.get(name)![i]);
  assert.ok(changed('fc.weight') && changed('fc.bias'));
  for (const p of net.parameters()) if (!p.name.startsWith('fc.')) assert.ok(!changed(p.name), `${p.name} changed while frozen`);

  const snapshot = new Map(net.parameters().map((p) => [p.name, Float32Array.from(p.data)]));
  await fineTune(net, { ...common, fromStage: 'layer4' });
  const moved = (name: string) => net.parameters().find((p) => p.name === name)!.data.some((v, i) => v !== snapshot.get(name)![i]);
  assert.ok(moved('layer4.0.conv1.weight') && moved('fc.weight'));
  assert.ok(moved('layer4.0.norm1.moving_mean'), 'BN in training mode updates its statistics');
  for (const name of ['conv1.weight', 'layer3.1.conv2.weight', 'layer1.0.norm1.moving_mean']) assert.ok(!moved(name), `${name} changed before layer4`);
});

test('RKD teacher embeddings: each image is run through the teacher once and rows come back in batch order', async () => {
  const { TeacherEmbeddings } = await import('../src/transfer/rkd.js');
  let runs = 0;
  // A fake teacher: the embedding of an image is [sum of its pixels, its first pixel].
  const teacher = {
    run: async (images: Float32Array, batch: number) => {
      runs++;
      const size = images.length / batch;
      const data = new Float32Array(batch * 2);
      for (let b = 0; b < batch; b++) {
        const image = images.subarray(b * size, (b + 1) * size);
        data[2 * b] = image.reduce((a, v) => a + v, 0);
        data[2 * b + 1] = image[0]!;
      }
      return { data, shape: [batch, 2] };
    },
  };
  const imageOf = (index: number) => Float32Array.from({ length: 3 }, (_, k) => index * 10 + k);
  const batchOf = (indices: number[]) => Float32Array.from(indices.flatMap((i) => Array.from(imageOf(i))));
  const embeddings = new TeacherEmbeddings(teacher as never, 2, 3);
  const first = await embeddings.of(Int32Array.from([2, 0]), batchOf([2, 0]));
  assert.deepEqual(Array.from(first), [63, 20, 3, 0]);
  const again = await embeddings.of(Int32Array.from([0, 2]), undefined);
  assert.deepEqual(Array.from(again), [3, 0, 63, 20]);
  assert.equal(runs, 1);
  await embeddings.of(Int32Array.from([1, 2]), batchOf([1, 2]));
  assert.equal(runs, 2);
  assert.equal(embeddings.size, 3);
  await assert.rejects(embeddings.of(Int32Array.from([5]), undefined), /needs the batch images/);
});
