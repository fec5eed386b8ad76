import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createResNet } from '../src/models/registry.js';
import {
  availableMemoryBytes, checkTrainingMemory, estimateTrainingMemory, InsufficientMemoryError, largestFittingBatch,
} from '../src/train/memory.js';
import { runCli } from './helpers/cli.js';
import { writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';
import { runTinyTraining, tinyNetwork, TINY_INPUT_SHAPE } from './helpers/tiny-training.js';

const MB = 1024 * 1024;
const MOMENTUM = { kind: 'momentum', momentum: 0.9 } as const;
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

test('the estimate grows linearly with the batch and the suggested batch is the largest that fits', () => {
  const net = tinyNetwork(1);
  net.train(true);
  const at = (batchSize: number) => estimateTrainingMemory(net, { inputShape: TINY_INPUT_SHAPE, batchSize, optimizer: MOMENTUM, bnTraining: true });
  const one = at(1);
  const many = at(64);
  assert.ok(one.activationBytesPerSample > 0);
  assert.equal(many.totalBytes - one.totalBytes, 63 * (at(2).totalBytes - one.totalBytes));
  const limit = at(20).totalBytes + 1;
  assert.equal(largestFittingBatch(many, limit), 20);
  assert.equal(largestFittingBatch(many, one.totalBytes - 1), 0);
});

test('fit stops before training when the estimate exceeds the memory limit, suggesting a batch size that fits', async (t) => {
  const net = tinyNetwork(1);
  net.train(true);
  const estimateAt = (batchSize: number) => estimateTrainingMemory(net, { inputShape: TINY_INPUT_SHAPE, batchSize, optimizer: MOMENTUM, bnTraining: true }).totalBytes;
  const limitMb = (estimateAt(5) + estimateAt(6)) / 2 / MB;
  const fits = Array.from({ length: 16 }, (_, i) => i + 1).filter((b) => estimateAt(b) <= limitMb * MB);
  const expected = fits[fits.length - 1]!;
  assert.ok(expected >= 5 && expected < 16, `expected batch ${expected}`);
  t.after(() => delete process.env.TLKIT_MEMORY_LIMIT_MB);
  process.env.TLKIT_MEMORY_LIMIT_MB = String(limitMb);
  const checkpointDir = await mkdtemp(path.join(tmpdir(), 'tlkit-memory-'));
  dirs.push(checkpointDir);
  const lines: string[] = [];
  await assert.rejects(runTinyTraining({ epochs: 1, batchSize: 16, checkpointDir, log: (line) => lines.push(line) }), (error: unknown) => {
    assert.ok(error instanceof InsufficientMemoryError, String(error));
    assert.equal(error.suggestedBatchSize, expected);
    assert.match(error.message, new RegExp(`^training at batch size 16 needs about \\d+ MB but TLKIT_MEMORY_LIMIT_MB is ${Math.floor(limitMb)} MB; try a batch size of ${expected} \\(--batch-size ${expected}\\)`));
    return true;
  });
  assert.deepEqual(lines, [], 'nothing trained');
  assert.deepEqual(await readdir(checkpointDir), [], 'no checkpoint written');

  // The suggestion works.
  const result = await runTinyTraining({ epochs: 1, batchSize: expected, log: () => {} });
  assert.equal(result.history.length, 1);
});

test('an impossible limit says that even batch size 1 does not fit; a malformed limit is refused', () => {
  const net = tinyNetwork(1);
  net.train(true);
  const estimate = estimateTrainingMemory(net, { inputShape: TINY_INPUT_SHAPE, batchSize: 8, optimizer: MOMENTUM, bnTraining: true });
  assert.ok(estimate.totalBytes > 10 * MB);
  assert.throws(() => availableMemoryBytes({ TLKIT_MEMORY_LIMIT_MB: 'lots' }), /TLKIT_MEMORY_LIMIT_MB must be a positive number of megabytes, got "lots"/);
  assert.equal(availableMemoryBytes({ TLKIT_MEMORY_LIMIT_MB: '10' }).bytes, 10 * MB);
  assert.ok(availableMemoryBytes({}).bytes > 0);
  assert.throws(() => checkTrainingMemory(estimate, { bytes: 10 * MB, source: 'TLKIT_MEMORY_LIMIT_MB' }), (error: unknown) => {
    assert.ok(error instanceof InsufficientMemoryError);
    assert.equal(error.suggestedBatchSize, 0);
    assert.match(error.message, /is 10 MB; even batch size 1 does not fit: use a smaller model or image size, or freeze more layers/);
    return true;
  });
});

test('resnet50 at 224 px, batch 8, full fine-tune: the estimate is near the measured peak RSS (~2.5 GB)', () => {
  const net = createResNet('resnet50', { numClasses: 2 });
  net.train(true);
  const full = estimateTrainingMemory(net, { inputShape: [3, 224, 224], batchSize: 8, optimizer: MOMENTUM, bnTraining: true });
  // bench/RESULTS.md: peak RSS 2515-2572 MB measured; the estimate is a guard, not a measurement.
  assert.ok(full.totalBytes > 2000 * MB && full.totalBytes < 4000 * MB, `${full.totalBytes / MB} MB`);
  // Only fc trained: the body is a constant inference graph and nothing of it is kept for backward.
  net.freeze();
  net.unfreeze('fc.*');
  net.train(false);
  const head = estimateTrainingMemory(net, { inputShape: [3, 224, 224], batchSize: 8, optimizer: MOMENTUM, bnTraining: false, cachedExamples: 240 });
  assert.ok(head.totalBytes < full.totalBytes / 4, `${head.totalBytes / MB} MB`);
  assert.equal(head.cacheBytes, 240 * 2048 * 4);
});

test('tlkit train prints the memory error as one line and exits 1', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tlkit-memory-cli-'));
  dirs.push(dir);
  const data = await writeTutorialImageFolder(path.join(dir, 'data'), { train: 2, val: 2, size: 40 });
  const result = await runCli(['train', data, '--model', 'resnet18', '--mode', 'scratch', '--image-size', '32', '--batch-size', '64', '--epochs', '1', '--no-progress', '--out', path.join(dir, 'out')], {
    env: { ...process.env, TLKIT_MEMORY_LIMIT_MB: '460' },
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^tlkit: training at batch size 64 needs about \d+ MB but TLKIT_MEMORY_LIMIT_MB is 460 MB; try a batch size of (\d+) \(--batch-size \1\)/);
  assert.equal(result.stderr.trim().split('\n').length, 1);
});
