/** fit records, per epoch, how long the training steps waited for the loader (EpochRecord.dataWaitMs). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { fit } from '../src/train/fit.js';
import { TINY_INPUT_SHAPE, tinyImages, tinyNetwork } from './helpers/tiny-training.js';

/** The images of `inner`, each taking `delayMs` to arrive (a slow disk, a slow decoder). */
function slowDataset(inner: Dataset, delayMs: number): Dataset {
  return {
    length: inner.length, classNames: inner.classNames, labelAt: (i) => inner.labelAt(i),
    get: async (i) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return inner.get(i);
    },
  };
}

test('EpochRecord.dataWaitMs: the time steps waited for batches, large for a slow loader, ~0 from the feature cache', async () => {
  const net = tinyNetwork(3);
  net.freeze().unfreeze('fc');
  net.eval();
  // Two batches of 4; each image takes 40 ms and a batch's images load one after another at most 4 at once.
  const train = new DataLoader(slowDataset(tinyImages(8, 3), 40), { batchSize: 4, shuffle: false, seed: 1 });
  const result = await fit(net, {
    epochs: 3, train, inputShape: TINY_INPUT_SHAPE, lr: 0.01, optimizer: { kind: 'momentum', momentum: 0.9 },
    bnTraining: false, cacheFeatures: true, log: () => undefined, progress: false,
  });
  const [first, ...later] = result.history;
  assert.ok(first!.dataWaitMs !== undefined && first!.dataWaitMs >= 40, `epoch 1 waited ${first!.dataWaitMs} ms for images that take 40 ms each`);
  assert.ok(first!.dataWaitMs! <= first!.epochMs, 'the wait is part of the epoch');
  // Waiting on timers, the process is mostly idle: well under one core busy on average.
  assert.ok(first!.cpuMs !== undefined && first!.cpuMs >= 0 && first!.cpuMs < first!.epochMs, `epoch 1 used ${first!.cpuMs} ms of CPU in ${first!.epochMs} ms`);
  // From epoch 2 on the frozen prefix's outputs come from the feature cache: no image is loaded.
  for (const epoch of later) assert.ok(epoch.dataWaitMs !== undefined && epoch.dataWaitMs < 20, `epoch ${epoch.epoch} waited ${epoch.dataWaitMs} ms`);
});

test('run.json keeps each epoch\'s dataWaitMs, and validates it as a number', async () => {
  const { RunRecordWriter } = await import('../src/train/callbacks/run-record.js');
  const { readRunRecord, validateRunRecord } = await import('../src/report/run-record.js');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'tlkit-data-wait-'));
  try {
    const writer = new RunRecordWriter(dir, { config: {}, classNames: ['a', 'b'] });
    const record = { epoch: 1, trainLoss: 0.5, trainAccuracy: 0.5, valAccuracy: 0.5, epochMs: 100, stepMs: 10, learningRate: 0.1, dataWaitMs: 42, cpuMs: 180 };
    await writer.onEpochEnd({} as never, { record, evaluation: undefined, improved: true });
    const saved = await readRunRecord(dir);
    assert.equal(saved.history[0]!.dataWaitMs, 42);
    assert.equal(saved.history[0]!.cpuMs, 180);
    assert.match(validateRunRecord({ ...saved, history: [{ ...saved.history[0], dataWaitMs: 'slow' }] }).join('\n'), /history\[0\]\.dataWaitMs/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
