/** The output folder of a training run as the CLI words it: one run at a time, and what a write fault left. */
import { RunLock, RunLockedError } from '../train/run-lock.js';
import { checkpointStatus } from '../train/checkpoint-status.js';
import { WriteFaultError } from '../util/atomic.js';

/** Takes --out for this run; a second run refuses, a crashed run's lock is taken over. */
export async function lockOutFolder(outDir: string, command: string, log: (line: string) => void): Promise<RunLock> {
  try {
    return await RunLock.acquire(outDir, {
      command,
      onStale: (holder) => log(`note: ${outDir} had the lock of a run that is no longer running (pid ${holder.pid}, started ${holder.started}); taking over`),
    });
  } catch (error) {
    if (!(error instanceof RunLockedError)) throw error;
    const { holder } = error;
    return Promise.reject(new Error(
      `--out ${outDir} is in use by another run (${holder.command}, pid ${holder.pid} on ${holder.host}, started ${holder.started}); ` +
        `two runs in one folder would interleave their checkpoints. Wait for it, or give another --out (if no run is going on, delete ${error.lockFile})`,
    ));
  }
}

/** A write fault, worded with which checkpoints in --out are intact and how to go on; other errors unchanged. */
export async function explainWriteFault(error: unknown, outDir: string): Promise<unknown> {
  if (!(error instanceof WriteFaultError)) return error;
  const statuses = await checkpointStatus(outDir);
  const intact = statuses.filter((s) => s.loads);
  const damaged = statuses.filter((s) => !s.loads).map((s) => ` ${s.file} does not load (${s.problem}).`).join('');
  const last = intact.find((s) => s.epoch !== undefined);
  const kept = intact.length === 0
    ? ' No checkpoint had been written yet.'
    : ` Intact (read back in full): ${intact.map((s) => `${s.file}${s.epoch === undefined ? '' : ` (after epoch ${s.epoch})`}`).join(', ')}.`;
  const next = last ? ` Once the cause is fixed, --resume continues after epoch ${last.epoch}.` : '';
  return new Error(`${error.message}.${kept}${damaged}${next}`, { cause: error });
}
