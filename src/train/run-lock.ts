import { randomUUID } from 'node:crypto';
import { promises as fs, readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { WriteFaultError } from '../util/atomic.js';
import { processIsAlive } from './stale-temporaries.js';

export const RUN_LOCK_FILE = 'tlkit-run.lock';

/** What a lock file says about the run holding it. */
export interface RunLockHolder {
  pid: number;
  host: string;
  /** ISO time. */
  started: string;
  command: string;
  token: string;
}

/** The folder is held by a run that is still going on (or one on another host, which this one cannot check). */
export class RunLockedError extends Error {
  constructor(readonly dir: string, readonly lockFile: string, readonly holder: RunLockHolder) {
    super(
      `${dir} is in use by another run (${holder.command}, pid ${holder.pid} on ${holder.host}, started ${holder.started}); ` +
        `two runs in one folder would interleave their checkpoints. If no such run is going on, delete ${lockFile}`,
    );
    this.name = 'RunLockedError';
  }
}

// A lock file younger than this that does not parse yet is being written by its creator, not abandoned.
const BEING_WRITTEN_MS = 10_000;

/**
 * One run per output folder: a lock file created exclusively (O_EXCL) that names the run holding it. A
 * run that crashed leaves its file behind; its process is gone, so the next run on the host takes over.
 */
export class RunLock {
  private released = false;
  private readonly onExit = () => this.releaseSync();

  private constructor(readonly file: string, readonly holder: RunLockHolder) {
    // Also when the process leaves through process.exit (a second Ctrl-C).
    process.on('exit', this.onExit);
  }

  static async acquire(dir: string, options: { command?: string; onStale?: (holder: RunLockHolder) => void } = {}): Promise<RunLock> {
    const file = path.join(dir, RUN_LOCK_FILE);
    const mine: RunLockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command: options.command ?? 'tlkit', token: randomUUID() };
    for (let attempt = 0; attempt < 20; attempt++) {
      if (await createExclusive(file, `${JSON.stringify(mine)}\n`)) return new RunLock(file, mine);
      const found = await readLock(file);
      if (found === undefined) continue; // released meanwhile
      if (found.holder === undefined) {
        if (Date.now() - found.mtimeMs < BEING_WRITTEN_MS) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
      } else if (found.holder.host !== mine.host || processIsAlive(found.holder.pid)) {
        throw new RunLockedError(dir, file, found.holder);
      }
      // Stale: one run at a time removes it (takeOver), then every run tries the exclusive create again.
      if (await takeOver(file, found.text)) {
        if (found.holder) options.onStale?.(found.holder);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    throw new Error(`cannot take the run lock ${file}: it keeps changing hands`);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    const found = await readLock(this.file);
    if (found?.holder?.token === this.holder.token) await fs.rm(this.file, { force: true });
  }

  private releaseSync(): void {
    if (this.released) return;
    this.released = true;
    try {
      const holder = JSON.parse(readFileSync(this.file, 'utf8')) as RunLockHolder;
      if (holder.token === this.holder.token) unlinkSync(this.file);
    } catch {
      // Gone already, or not ours.
    }
  }
}

/**
 * Removes the stale lock `file` if it still holds `staleText`, under a second exclusive file so that only
 * one run at a time takes over: renaming the lock aside without it let a slower run move aside the lock a
 * faster one had just taken, and two runs held the folder (seen under load, 2026-12-01). A takeover file
 * left by a run that died mid-takeover is itself stale after BEING_WRITTEN_MS. False: another run is
 * taking over; try again.
 */
async function takeOver(file: string, staleText: string): Promise<boolean> {
  const mutex = `${file}.takeover`;
  if (!(await createExclusive(mutex, `${process.pid}\n`))) {
    const age = await fs.stat(mutex).then((st) => Date.now() - st.mtimeMs, () => 0);
    if (age > BEING_WRITTEN_MS) await fs.rm(mutex, { force: true });
    return false;
  }
  try {
    const now = await readLock(file);
    if (now?.text === staleText) await fs.rm(file, { force: true });
    return now?.text === staleText;
  } finally {
    await fs.rm(mutex, { force: true });
  }
}

async function createExclusive(file: string, text: string): Promise<boolean> {
  let handle;
  try {
    handle = await fs.open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new WriteFaultError(file, error);
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await fs.rm(file, { force: true });
    throw new WriteFaultError(file, error);
  }
  await handle.close();
  return true;
}

async function readLock(file: string): Promise<{ text: string; holder?: RunLockHolder; mtimeMs: number } | undefined> {
  try {
    const [text, stat] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    let holder: RunLockHolder | undefined;
    try {
      const parsed = JSON.parse(text) as Partial<RunLockHolder>;
      if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string') holder = parsed as RunLockHolder;
    } catch {
      // Half-written or not a lock: judged by its age.
    }
    return { text, holder, mtimeMs: stat.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
