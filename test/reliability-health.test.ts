import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readCheckpoint } from '../src/io/ckpt.js';
import { NonFiniteLossError, NonFiniteStateError } from '../src/train/health.js';
import { runTinyTraining } from './helpers/tiny-training.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function scratch(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tlkit-health-'));
  dirs.push(dir);
  return dir;
}

async function nonFiniteTensors(file: string): Promise<string[]> {
  const { tensors } = await readCheckpoint(file);
  return [...tensors].filter(([, t]) => Array.from(t.data as ArrayLike<number | bigint>, Number).some((v) => !Number.isFinite(v))).map(([name]) => name);
}

test('a learning rate that blows up stops the run naming the epoch, the step and the first non-finite tensor', async () => {
  const checkpointDir = await scratch();
  await assert.rejects(runTinyTraining({ epochs: 4, lr: 1e6, checkpointDir, log: () => {} }), (error: unknown) => {
    assert.ok(error instanceof NonFiniteLossError, String(error));
    assert.ok(!Number.isFinite(error.loss));
    assert.ok(error.epoch >= 1 && error.step >= 1);
    assert.ok(error.firstAffected, 'names a tensor');
    assert.match(error.message, new RegExp(`at epoch ${error.epoch}, step ${error.step}; first non-finite tensor: ${error.firstAffected!.replace(/\./g, '\\.')}; try a lower learning rate`));
    return true;
  });
});

test('weights that overflow while the loss is still finite stop the run before they reach a checkpoint', async () => {
  // At this rate the BN moving variances overflow in the last step of an epoch, while that step's loss
  // (computed before the update, on batch statistics) is finite.
  const checkpointDir = await scratch();
  await assert.rejects(runTinyTraining({ epochs: 4, lr: 300, checkpointDir, log: () => {} }), (error: unknown) => {
    // Another CPU's rounding may turn the loss NaN first; either way nothing non-finite is saved.
    if (error instanceof NonFiniteLossError) return true;
    assert.ok(error instanceof NonFiniteStateError, String(error));
    assert.ok(error.epoch >= 2, 'earlier epochs were finite and saved');
    assert.match(error.message, new RegExp(`^${error.firstAffected.replace(/\./g, '\\.')} became non-finite in epoch ${error.epoch}`));
    return true;
  });
  assert.deepEqual(await nonFiniteTensors(path.join(checkpointDir, 'last.ckpt')), []);
  assert.deepEqual(await nonFiniteTensors(path.join(checkpointDir, 'best.ckpt')), []);
});
