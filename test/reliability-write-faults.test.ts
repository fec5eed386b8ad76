import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers/cli.js';
import { writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';
import { readCheckpoint } from '../src/io/ckpt.js';
import { readRunRecord } from '../src/report/run-record.js';
import { readTrainingCheckpoint } from '../src/train/checkpoint.js';
import { RUN_LOCK_FILE } from '../src/train/run-lock.js';
import { WriteFaultError, writeFileAtomic } from '../src/util/atomic.js';

let dir: string;
let data: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-write-faults-'));
  data = await writeTutorialImageFolder(path.join(dir, 'data'), { train: 4, val: 2, size: 32 });
});
after(() => fs.rm(dir, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;

/** A small tmpfs at `at`, or undefined (with the reason) where this process cannot mount one. */
function mountTmpfs(at: string, size: string): string | undefined {
  if (!isRoot) return 'not root: cannot mount a tmpfs';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}`;
  }
}

function unmount(at: string): void {
  execFileSync('umount', ['-l', at], { stdio: 'pipe' });
}

/** Fills the file system holding `folder` until `leave` bytes are free. */
async function fillUp(folder: string, leave: number): Promise<string> {
  const stats = await fs.statfs(folder);
  const free = stats.bavail * stats.bsize;
  const filler = path.join(folder, 'filler.bin');
  await fs.writeFile(filler, Buffer.alloc(Math.max(0, free - leave)));
  return filler;
}

const esc = (text: string) => text.replace(/[/\\.]/g, '\\$&');
const tiny = () => ['train', data, '--model', 'resnet18', '--batch-size', '4', '--image-size', '32', '--no-progress', '--no-augment'];

test('writeFileAtomic: a path through a file, and a folder in the way, name the file meant and the cause; nothing half-written is left', async () => {
  const file = path.join(dir, 'plain-file');
  await fs.writeFile(file, 'x');
  await assert.rejects(writeFileAtomic(path.join(file, 'sub', 'last.ckpt'), Buffer.from('y')), (error: Error) => {
    assert.ok(error instanceof WriteFaultError);
    assert.equal(error.message, `cannot write ${path.join(file, 'sub', 'last.ckpt')}: a part of the path is a file, not a folder (ENOTDIR)`);
    return true;
  });
  const folderInTheWay = path.join(dir, 'in-the-way');
  await fs.mkdir(folderInTheWay);
  await assert.rejects(writeFileAtomic(folderInTheWay, Buffer.from('y')), /^WriteFaultError: cannot write .*in-the-way: a folder is in the way \(EISDIR\)$/);
  assert.deepEqual((await fs.readdir(dir)).filter((n) => n.endsWith('.tmp')), []);
});

test('tlkit train --out on a file: the error names it and the cause, exit 1', async () => {
  const file = path.join(dir, 'out-is-a-file');
  await fs.writeFile(file, 'not a folder');
  const run = await runCli([...tiny(), '--epochs', '1', '--out', file]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, new RegExp(`^tlkit: cannot write ${esc(file)}: a part of the path is a file, not a folder \\(ENOTDIR\\)\\. No checkpoint had been written yet\\.$`, 'm'));
  assert.equal(await fs.readFile(file, 'utf8'), 'not a folder');
});

test('disk full mid-run: the error names the file and the lack of space and which checkpoints are intact; they load; --resume continues once space is back', async (t) => {
  const disk = path.join(dir, 'disk');
  await fs.mkdir(disk);
  // resnet18: best.ckpt and last.ckpt are ~45 MB each, and a write needs room for the new copy first.
  const why = mountTmpfs(disk, '200m');
  if (why) return t.skip(`disk-full test skipped: ${why}`);
  try {
    const out = path.join(disk, 'run');
    const first = await runCli([...tiny(), '--epochs', '1', '--out', out]);
    assert.equal(first.code, 0, first.stderr);
    const before = await readTrainingCheckpoint(path.join(out, 'last.ckpt'));
    // Room for run.json and the lock, not for a checkpoint.
    const filler = await fillUp(disk, 256 * 1024);

    const full = await runCli([...tiny(), '--epochs', '2', '--out', out, '--resume']);
    assert.equal(full.code, 1, full.stdout);
    assert.match(full.stderr, new RegExp(
      `^tlkit: cannot write ${esc(out)}/(best|last)\\.ckpt: no space left on the device \\(ENOSPC\\)\\. ` +
        `Intact \\(read back in full\\): ${esc(out)}/best\\.ckpt, ${esc(out)}/last\\.ckpt \\(after epoch 1\\)\\. Once the cause is fixed, --resume continues after epoch 1\\.$`, 'm'));
    // The atomic writes: the old checkpoints load, unchanged; the failed write left no temporary; the lock went with the run.
    const after = await readTrainingCheckpoint(path.join(out, 'last.ckpt'));
    assert.equal(after.state!.epoch, 1);
    assert.deepEqual(after.tensors.get('fc.weight')!.data, before.tensors.get('fc.weight')!.data);
    await readCheckpoint(path.join(out, 'best.ckpt'));
    assert.deepEqual((await fs.readdir(out)).filter((n) => n.endsWith('.tmp') || n === RUN_LOCK_FILE), []);

    await fs.rm(filler);
    const resumed = await runCli([...tiny(), '--epochs', '2', '--out', out, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /Resuming from .*last\.ckpt after epoch 1/);
    assert.deepEqual((await readRunRecord(out)).history.map((h) => h.epoch), [1, 2]);
    assert.equal((await readTrainingCheckpoint(path.join(out, 'last.ckpt'))).state!.epoch, 2);
  } finally {
    unmount(disk);
  }
});

test('read-only output folder: the error names the file and says read-only; the checkpoints stay intact', async (t) => {
  const disk = path.join(dir, 'ro');
  await fs.mkdir(disk);
  const why = mountTmpfs(disk, '200m');
  if (why) return t.skip(`read-only test skipped: ${why}`);
  try {
    const out = path.join(disk, 'run');
    const first = await runCli([...tiny(), '--epochs', '1', '--out', out]);
    assert.equal(first.code, 0, first.stderr);
    execFileSync('mount', ['-o', 'remount,ro', disk], { stdio: 'pipe' });
    const again = await runCli([...tiny(), '--epochs', '2', '--out', out, '--resume']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`^tlkit: cannot write ${esc(out)}/\\S+: the file system is read-only \\(EROFS\\)\\. Intact \\(read back in full\\): .*last\\.ckpt \\(after epoch 1\\)`, 'm'));
    assert.equal((await readTrainingCheckpoint(path.join(out, 'last.ckpt'))).state!.epoch, 1);
  } finally {
    unmount(disk);
  }
});
