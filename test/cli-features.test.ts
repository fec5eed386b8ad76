import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers/cli.js';
import { writeMindSporeResNetCheckpoint, writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { loadModel } from '../src/models/registry.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { ImageFolder } from '../src/data/image-folder.js';
import { DataLoader } from '../src/data/loader.js';
import { compose, evalTransforms } from '../src/data/transforms.js';

let dir: string;
let data: string;
let weights: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tlkit-features-'));
  data = await writeTutorialImageFolder(path.join(dir, 'data'), { train: 5, val: 3, size: 64 });
  weights = path.join(dir, 'resnet18.ckpt');
  await writeMindSporeResNetCheckpoint(weights, 'resnet18', 1000);
});
after(() => rm(dir, { recursive: true, force: true }));

const extract = (split: string, stage: string, out: string) =>
  runCli(['features', path.join(data, split), '--model', 'resnet18', '--weights', weights, '--stage', stage, '--image-size', '64', '--batch-size', '4', '--out', out]);

function rowsOf(values: Float32Array, dimension: number): number[][] {
  return Array.from({ length: values.length / dimension }, (_, r) => Array.from(values.subarray(r * dimension, (r + 1) * dimension)));
}

test('tlkit features: a feature-map stage is globally average-pooled, with labels and class names', async () => {
  const out = path.join(dir, 'layer3.safetensors');
  const result = await extract('train', 'layer3', out);
  assert.equal(result.code, 0, result.stderr);
  const { tensors, metadata } = await readSafetensors(out);
  assert.deepEqual(tensors.get('features')!.shape, [10, 256]);
  assert.deepEqual(Array.from(tensors.get('labels')!.data as Int32Array), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual(JSON.parse(metadata.class_names!), ['dogs', 'wolves']);
  assert.equal(metadata.stage, 'layer3');

  // Independently: run up to layer3's last block, then average each channel's map here.
  const { net } = await loadModel('resnet18', { weights });
  const folder = await ImageFolder.open(path.join(data, 'train'));
  const loader = new DataLoader(folder, { batchSize: 10, transforms: compose(evalTransforms(64)) });
  const runner = await InferenceRunner.create(net, [3, 64, 64], { until: 'layer3.1' });
  const batch = (await loader.epoch(0).next()).value!;
  const map = await runner.run(batch.images, 10);
  await runner.release();
  const [n, c, h, w] = map.shape as [number, number, number, number];
  const pooled = new Float32Array(n * c);
  for (let i = 0; i < n * c; i++) for (let k = 0; k < h * w; k++) pooled[i]! += map.data[i * h * w + k]! / (h * w);
  const saved = tensors.get('features')!.data as Float32Array;
  pooled.forEach((v, i) => assert.ok(Math.abs(v - saved[i]!) < 1e-4 * Math.max(1, Math.abs(v)), `feature ${i}: ${saved[i]} vs ${v}`));
});

test('tlkit features --classifier: softmax, knn and ncm train on saved features; the saved models reproduce the accuracy', async () => {
  const train = path.join(dir, 'train.safetensors');
  const val = path.join(dir, 'val.safetensors');
  assert.equal((await extract('train', 'flatten', train)).code, 0);
  assert.equal((await extract('val', 'flatten', val)).code, 0);
  const trainSet = await readSafetensors(train);
  const valSet = await readSafetensors(val);
  assert.deepEqual(trainSet.tensors.get('features')!.shape, [10, 512]);
  const queries = rowsOf(valSet.tensors.get('features')!.data as Float32Array, 512);
  const labels = Array.from(valSet.tensors.get('labels')!.data as Int32Array);
  const argmax = (row: number[]) => row.indexOf(Math.max(...row));
  const accuracy = (predicted: number[]) => predicted.filter((p, i) => p === labels[i]).length / labels.length;
  const printed = (stdout: string) => Number(/accuracy (\d\.\d{3})/.exec(stdout)![1]);

  const softmaxOut = path.join(dir, 'softmax.safetensors');
  const softmax = await runCli(['features', '--classifier', 'softmax', '--train', train, '--test', val, '--epochs', '30', '--out', softmaxOut]);
  assert.equal(softmax.code, 0, softmax.stderr);
  const s = (await readSafetensors(softmaxOut)).tensors;
  const [weight, bias, mean, std] = ['weight', 'bias', 'mean', 'std'].map((k) => s.get(k)!.data as Float32Array);
  assert.deepEqual(s.get('weight')!.shape, [2, 512]);
  const logits = queries.map((q) => [0, 1].map((c) => q.reduce((sum, x, d) => sum + ((x - mean![d]!) / std![d]!) * weight![c * 512 + d]!, bias![c]!)));
  assert.equal(printed(softmax.stdout), Number(accuracy(logits.map(argmax)).toFixed(3)));

  const ncmOut = path.join(dir, 'ncm.safetensors');
  const ncm = await runCli(['features', '--classifier', 'ncm', '--train', train, '--test', val, '--out', ncmOut]);
  assert.equal(ncm.code, 0, ncm.stderr);
  const centroids = rowsOf((await readSafetensors(ncmOut)).tensors.get('centroids')!.data as Float32Array, 512);
  const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);
  assert.equal(printed(ncm.stdout), Number(accuracy(queries.map((q) => argmax(centroids.map((c) => cosine(q, c))))).toFixed(3)));

  // 1-NN of the training set against itself finds each row's own copy.
  const knn = await runCli(['features', '--classifier', 'knn', '--k', '1', '--train', train, '--test', train]);
  assert.equal(knn.code, 0, knn.stderr);
  assert.match(knn.stdout, /knn on .*: accuracy 1\.000 \(10\/10\)/);
});

test('tlkit features: unknown stage, dataset roots and mismatched feature files get clear errors', async () => {
  const badStage = await extract('train', 'layer9', path.join(dir, 'x.safetensors'));
  assert.equal(badStage.code, 1);
  assert.match(badStage.stderr, /--stage: no stage named layer9; choose one of conv1, norm, relu, max_pool, layer1, layer2, layer3, layer4, avg_pool, flatten, fc/);
  const root = await runCli(['features', data, '--model', 'resnet18', '--out', path.join(dir, 'y.safetensors')]);
  assert.match(root.stderr, /holds train\/ and val\/: give one of them/);
  const small = path.join(dir, 'layer2.safetensors');
  const flat = path.join(dir, 'flat.safetensors');
  const classNames = { class_names: JSON.stringify(['dogs', 'wolves']) };
  for (const [file, dimension] of [[small, 128], [flat, 512]] as const) {
    await writeSafetensors(file, [
      ['features', { dtype: 'float32', shape: [2, dimension], data: new Float32Array(2 * dimension).fill(1) }],
      ['labels', { dtype: 'int32', shape: [2], data: Int32Array.of(0, 1) }],
    ], classNames);
  }
  const mismatch = await runCli(['features', '--classifier', 'ncm', '--train', flat, '--test', small]);
  assert.match(mismatch.stderr, /flat\.safetensors has 512-dimensional features but .*layer2\.safetensors has 128/);
});
