import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readTrainingCheckpoint } from './checkpoint.js';

export interface CheckpointStatus {
  file: string;
  /** Read in full and parsed. */
  loads: boolean;
  /** For a checkpoint with training state: the epochs it holds. */
  epoch?: number;
  problem?: string;
}

/**
 * What a run's checkpoint folder still holds after a failure: each checkpoint that exists, read back
 * in full (so "intact" means it loads, not only that the file is there).
 */
export async function checkpointStatus(dir: string, names: readonly string[] = ['best.ckpt', 'last.ckpt']): Promise<CheckpointStatus[]> {
  const out: CheckpointStatus[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    if (!(await fs.stat(file).then((s) => s.isFile(), () => false))) continue;
    try {
      const loaded = await readTrainingCheckpoint(file);
      out.push({ file, loads: true, epoch: loaded.state?.epoch });
    } catch (error) {
      out.push({ file, loads: false, problem: (error as Error).message });
    }
  }
  return out;
}
