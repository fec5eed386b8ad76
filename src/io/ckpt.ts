import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { encodeCheckpoint, parseCheckpoint, type CheckpointContents, type CheckpointEntry, type WriteCheckpointOptions } from './ckpt-format.js';

export * from './ckpt-format.js';

export async function readCheckpoint(path: string): Promise<CheckpointContents> {
  return parseCheckpoint(await fs.readFile(path), path);
}

/** Writes a MindSpore .ckpt atomically (temporary file, fsync, rename). */
export async function writeCheckpoint(
  path: string,
  entries: Map<string, CheckpointEntry> | Iterable<[string, CheckpointEntry]>,
  options: WriteCheckpointOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(entries, options));
}

/** MindSpore's name for the same operation. */
export const saveCheckpoint = writeCheckpoint;
