import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { repoRoot, runCli } from './helpers/cli.js';
import { writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';
import { RUN_LOCK_FILE, RunLock, RunLockedError, type RunLockHolder } from '../src/train/run-lock.js';
import { readRunRecord } from '../src/report/run-record.js';

let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-lock-'));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

/** The pid of a process that has exited: what a crashed run leaves in its lock. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

async function writeLock(folder: string, holder: Partial<RunLockHolder>): Promise<void> {
  await fs.mkdir(folder, { recursive: true });
  const full = { pid: deadPid(), host: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'tlkit train', token: 'crashed', ...holder };
  await fs.writeFile(path.join(folder, RUN_LOCK_FILE), JSON.stringify(full));
}

test('RunLock: a second holder is refused while the first runs; released, the folder is free again', async () => {
  const folder = path.join(dir, 'twice');
  await fs.mkdir(folder);
  const first = await RunLock.acquire(folder, { command: 'first' });
  await assert.rejects(RunLock.acquire(folder), (error: Error) => {
    assert.ok(error instanceof RunLockedError);
    assert.match(error.message, new RegExp(`is in use by another run \\(first, pid ${process.pid} on .*delete .*${RUN_LOCK_FILE}`));
    return true;
  });
  await first.release();
  await assert.rejects(fs.stat(path.join(folder, RUN_LOCK_FILE)));
  const second = await RunLock.acquire(folder);
  await second.release();
});

test('RunLock: a dead pid\'s lock is taken over (reported); another host\'s is not; an old unreadable lock is stale', async () => {
  const folder = path.join(dir, 'stale');
  await writeLock(folder, {});
  const stale: RunLockHolder[] = [];
  const lock = await RunLock.acquire(folder, { onStale: (holder) => stale.push(holder) });
  assert.equal(stale.length, 1);
  assert.equal(stale[0]!.token, 'crashed');
  await lock.release();

  await writeLock(folder, { host: 'some-other-host', pid: process.pid });
  await assert.rejects(RunLock.acquire(folder), /on some-other-host/);
  await fs.rm(path.join(folder, RUN_LOCK_FILE));

  await fs.writeFile(path.join(folder, RUN_LOCK_FILE), '{"pid": 12');
  const old = new Date(Date.now() - 60_000);
  await fs.utimes(path.join(folder, RUN_LOCK_FILE), old, old);
  (await RunLock.acquire(folder)).release();
});

test('RunLock: of many runs taking over one stale lock at once, exactly one gets it', async () => {
  const folder = path.join(dir, 'race');
  await writeLock(folder, {});
  const attempts = await Promise.allSettled(Array.from({ length: 8 }, () => RunLock.acquire(folder)));
  const won = attempts.filter((a): a is PromiseFulfilledResult<RunLock> => a.status === 'fulfilled');
  assert.equal(won.length, 1, 'one winner');
  for (const lost of attempts.filter((a) => a.status === 'rejected')) assert.ok((lost as PromiseRejectedResult).reason instanceof RunLockedError);
  const held = JSON.parse(await fs.readFile(path.join(folder, RUN_LOCK_FILE), 'utf8')) as RunLockHolder;
  assert.equal(held.token, won[0]!.value.holder.token, 'the lock file names the winner');
  await won[0]!.value.release();
  assert.deepEqual((await fs.readdir(folder)).filter((n) => n.includes('stale')), [], 'nothing left aside');
});

test('tlkit train: a second run on the same --out refuses while the first trains; after the first is killed, its stale lock does not block', async () => {
  const data = await writeTutorialImageFolder(path.join(dir, 'data'), { train: 4, val: 2, size: 32 });
  const out = path.join(dir, 'run');
  const args = ['train', data, '--model', 'resnet18', '--batch-size', '4', '--image-size', '32', '--no-progress', '--out', out];
  const first = spawn(process.execPath, [path.join(repoRoot, 'bin/tlkit.js'), ...args, '--epochs', '500'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  first.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise((resolve) => first.on('close', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`first run did not start training: ${stdout}`)), 60_000);
      first.stdout.on('data', () => {
        if (/Epoch: \[ {2}1\/500\]/.test(stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const second = await runCli([...args, '--epochs', '1']);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`^tlkit: --out ${out.replace(/[/\\.]/g, '\\$&')} is in use by another run \\(tlkit train, pid ${first.pid} `, 'm'));
    assert.doesNotMatch(second.stdout, /Epoch:/);
  } finally {
    first.kill('SIGKILL');
    await exited;
  }
  const lockFile = path.join(out, RUN_LOCK_FILE);
  assert.equal((JSON.parse(await fs.readFile(lockFile, 'utf8')) as RunLockHolder).pid, first.pid, 'the killed run left its lock');
  const third = await runCli([...args, '--epochs', '1']);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stdout, new RegExp(`note: .* had the lock of a run that is no longer running \\(pid ${first.pid},`));
  assert.deepEqual((await readRunRecord(out)).history.map((h) => h.epoch), [1]);
  await assert.rejects(fs.stat(lockFile), 'released at the end');
});
