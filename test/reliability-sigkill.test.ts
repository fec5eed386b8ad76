import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32, type Random } from '../src/data/random.js';
import { readTrainingCheckpoint, type LoadedTrainingCheckpoint } from '../src/train/checkpoint.js';
import { readCheckpoint } from '../src/io/ckpt.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'tiny-training.js');
const EPOCHS = 30;
const KILLS = 20;
/** What writeFileAtomic names its temporary files. */
const TEMPORARY = /^\.(best|last)\.ckpt\.\d+\.\d+\.tmp$/;

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tlkit-sigkill-'));
});
after(() => rm(dir, { recursive: true, force: true }));

type KillMoment =
  /** Anywhere from start-up (session creation) through the first epochs. */
  | { after: 'ready'; delayMs: number }
  /** Right after an epoch's log line, when fit writes best.ckpt and last.ckpt. */
  | { after: 'epoch'; delayMs: number };

function pickMoment(random: Random): KillMoment {
  const kind = random.next();
  if (kind < 0.4) return { after: 'epoch', delayMs: Math.floor(random.next() * 12) };
  if (kind < 0.7) return { after: 'epoch', delayMs: Math.floor(random.next() * 200) };
  return { after: 'ready', delayMs: Math.floor(random.next() * 1200) };
}

interface RunOutcome {
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One training process; SIGKILLed at `moment` when given, else left to finish. */
function runTraining(checkpointDir: string, resume: boolean, moment?: KillMoment): Promise<RunOutcome> {
  const args = [SCRIPT, checkpointDir, String(EPOCHS), ...(resume ? ['--resume'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let killed = false;
  let armed = false;
  const arm = () => {
    if (armed || !moment) return;
    armed = true;
    setTimeout(() => {
      killed = child.kill('SIGKILL');
    }, moment.delayMs);
  };
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    if (moment?.after === 'ready' && stdout.includes('ready\n')) arm();
    if (moment?.after === 'epoch' && /Epoch: \[/.test(stdout)) arm();
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ killed: killed && signal === 'SIGKILL', code, stdout, stderr })));
}

async function readIfPresent(file: string): Promise<LoadedTrainingCheckpoint | undefined> {
  if (!existsSync(file)) return undefined;
  return readTrainingCheckpoint(file);
}

/** Values of every tensor (weights, BN statistics, momentum) as raw bytes, by name. */
async function tensorBytes(file: string): Promise<Map<string, Buffer>> {
  const { tensors } = await readCheckpoint(file);
  return new Map([...tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

test('SIGKILL at random moments leaves loadable checkpoints, and resuming reproduces the uninterrupted run bit for bit', async (t) => {
  const random = mulberry32(20261128);
  // The reference run shares the machine with the killed ones; ORT's results do not depend on timing.
  const reference = path.join(dir, 'uninterrupted');
  const cleanRun = runTraining(reference, false);
  const interrupted = path.join(dir, 'interrupted');
  let kills = 0;
  let leftoverTemporaries = 0;
  let savedEpoch = 0;
  let finished = false;
  while (!finished) {
    const resume = existsSync(path.join(interrupted, 'last.ckpt'));
    const outcome = await runTraining(interrupted, resume, kills < KILLS ? pickMoment(random) : undefined);
    if (!outcome.killed) {
      assert.equal(outcome.code, 0, `the training process failed after ${kills} kills:\n${outcome.stderr}`);
      finished = true;
    } else {
      kills++;
    }
    // Whatever the moment, each checkpoint present is whole: the old one or the new one.
    const best = await readIfPresent(path.join(interrupted, 'best.ckpt'));
    const last = await readIfPresent(path.join(interrupted, 'last.ckpt'));
    if (best) assert.ok(best.tensors.has('fc.weight'), 'best.ckpt holds the weights');
    if (last) {
      assert.ok(last.state, 'last.ckpt holds the training state');
      assert.ok(last.optimizer.has('moments.fc.weight'), 'last.ckpt holds the momentum');
      assert.ok(last.state.epoch >= savedEpoch, `last.ckpt went back from epoch ${savedEpoch} to ${last.state.epoch}`);
      assert.equal(last.state.history.length, last.state.epoch);
      savedEpoch = last.state.epoch;
    }
    const names = await readdir(interrupted).catch(() => [] as string[]);
    const unexpected = names.filter((name) => name !== 'best.ckpt' && name !== 'last.ckpt' && !TEMPORARY.test(name));
    assert.deepEqual(unexpected, [], 'only checkpoints and writeFileAtomic temporaries in the folder');
    leftoverTemporaries += names.filter((name) => TEMPORARY.test(name)).length;
    assert.ok(kills >= KILLS || !finished, `the run finished after only ${kills} kills; raise EPOCHS`);
  }
  assert.equal(savedEpoch, EPOCHS);
  const afterAll = await readdir(interrupted);
  assert.deepEqual(afterAll.sort(), ['best.ckpt', 'last.ckpt'], 'the next run removed the temporaries of killed writes');
  t.diagnostic(`${kills} kills; ${leftoverTemporaries} half-written temporaries seen (kills inside a checkpoint write)`);

  const clean = await cleanRun;
  assert.equal(clean.code, 0, clean.stderr);

  for (const name of ['last.ckpt', 'best.ckpt']) {
    const resumed = await tensorBytes(path.join(interrupted, name));
    const straight = await tensorBytes(path.join(reference, name));
    assert.deepEqual([...resumed.keys()].sort(), [...straight.keys()].sort());
    const differing = [...straight].filter(([tensor, bytes]) => !bytes.equals(resumed.get(tensor)!)).map(([tensor]) => tensor);
    assert.deepEqual(differing, [], `${name}: tensors that differ from the uninterrupted run`);
  }
  const resumedState = (await readTrainingCheckpoint(path.join(interrupted, 'last.ckpt'))).state!;
  const straightState = (await readTrainingCheckpoint(path.join(reference, 'last.ckpt'))).state!;
  const lossesOf = (history: unknown[]) => history.map((h) => (h as { trainLoss: number }).trainLoss);
  assert.deepEqual(lossesOf(resumedState.history), lossesOf(straightState.history));
  assert.equal(resumedState.step, straightState.step);
});
