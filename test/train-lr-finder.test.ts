import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { Flatten } from '../src/nn/layers/activation.js';
import { Dense } from '../src/nn/layers/dense.js';
import { Sequential } from '../src/nn/layers/sequential.js';
import { seedInitializers } from '../src/nn/init.js';
import type { Module } from '../src/nn/module.js';
import { fit } from '../src/train/fit.js';
import { findLearningRate, sweepRate, valleySuggestion } from '../src/train/lr-finder.js';
import { mulberry32, normal } from '../src/util/random.js';

const DIM = 16;
const CLASSES = 4;

/** Four overlapping Gaussian blobs in 16 dimensions, as a 1 x 4 x 4 "image" per sample. */
function blobs(n: number, seed: number): InMemoryDataset {
  const random = mulberry32(seed);
  const centres = Array.from({ length: CLASSES }, () => Array.from({ length: DIM }, () => 1.5 * normal(random)));
  const images = new Float32Array(n * DIM);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % CLASSES;
    for (let d = 0; d < DIM; d++) images[i * DIM + d] = centres[labels[i]!]![d]! + 2 * normal(random);
  }
  return new InMemoryDataset({ images, shape: [n, 1, 4, 4], labels, classNames: ['a', 'b', 'c', 'd'] });
}

function net(): Module {
  seedInitializers(11);
  return new Sequential(new Flatten(), new Dense(DIM, CLASSES));
}

const data = blobs(256, 5);
const loader = () => new DataLoader(data, { batchSize: 16, shuffle: true, seed: 2 });
const common = { inputShape: [1, 4, 4], optimizer: { kind: 'momentum' as const, momentum: 0.9 }, log: () => undefined };

test('the sweep is exponential and the valley rule picks the middle of the longest fall', () => {
  assert.equal(sweepRate(0, 100, 1e-7, 10), 1e-7);
  assert.ok(Math.abs(sweepRate(99, 100, 1e-7, 10) - 10) < 1e-9);
  assert.ok(Math.abs(sweepRate(50, 101, 1e-4, 1) - 1e-2) < 1e-12);
  // 40 points: flat, a steady fall from index 10 to 30, then a rise.
  const lrs = Array.from({ length: 40 }, (_, i) => i);
  const losses = lrs.map((i) => (i < 10 ? 5 : i <= 30 ? 5 - (i - 9) * 0.2 : 1 + (i - 30)));
  // Points 0-3 and 35-39 are left out. The longest decreasing run is a 5 and then 10..30 (22 points,
  // ending at 30); fastai counts its start as 30 - 22 = 8, so the pick is 8 + floor(22/3) + floor(22/6) = 18.
  assert.equal(valleySuggestion(lrs, losses), 18);
});

test('lr-find on a synthetic problem suggests a rate within a factor of 3 of the best constant rate of a sweep', async () => {
  const found = await findLearningRate(net(), { ...common, train: loader(), startLr: 1e-5, endLr: 10, iterations: 100 });
  assert.ok(found.learningRates.length >= 30, `recorded ${found.learningRates.length} steps`);
  // The weights are put back after the sweep.
  const fresh = net().parameters();
  const probe = net();
  await findLearningRate(probe, { ...common, train: loader(), startLr: 1e-5, endLr: 10, iterations: 30 });
  probe.parameters().forEach((p, i) => assert.deepEqual(p.data, fresh[i]!.data));

  // The reference: train 3 epochs at each constant rate on a grid (factor ~1.8 apart) and keep the one with the lowest final loss.
  const grid = Array.from({ length: 15 }, (_, i) => 1e-3 * Math.pow(10, i / 4));
  const finalLoss: number[] = [];
  for (const lr of grid) {
    const result = await fit(net(), { ...common, train: loader(), epochs: 3, lr });
    const last = result.history[result.history.length - 1]!.trainLoss;
    finalLoss.push(Number.isFinite(last) ? last : Infinity);
  }
  const best = grid[finalLoss.indexOf(Math.min(...finalLoss))]!;
  const ratio = found.suggestion / best;
  process.stderr.write(`lr-find suggested ${found.suggestion.toExponential(2)} (${found.ended}); the best constant rate of the sweep is ${best.toExponential(2)}\n`);
  assert.ok(ratio > 1 / 3 && ratio < 3, `suggested ${found.suggestion.toExponential(2)}, best constant ${best.toExponential(2)} (losses ${finalLoss.map((l) => l.toFixed(3)).join(', ')})`);
});
