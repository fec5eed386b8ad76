import { promises as fs, openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';

function temporaryNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
}

/**
 * Writes to a temporary file beside the target, fsyncs, then renames over it, so a crash
 * at any moment leaves either the old file or the new one, never a torn one.
 */
export async function writeFileAtomic(target: string, chunks: Uint8Array | Uint8Array[]): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temporary = temporaryNameFor(target);
  const handle = await fs.open(temporary, 'w');
  try {
    for (const chunk of Array.isArray(chunks) ? chunks : [chunks]) await handle.write(chunk);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await fs.rename(temporary, target);
  await syncDirectory(path.dirname(target));
}

export function writeFileAtomicSync(target: string, chunks: Uint8Array | Uint8Array[]): void {
  const temporary = temporaryNameFor(target);
  const fd = openSync(temporary, 'w');
  try {
    for (const chunk of Array.isArray(chunks) ? chunks : [chunks]) writeSync(fd, chunk);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temporary);
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, target);
}

async function syncDirectory(directory: string): Promise<void> {
  // The rename is durable only once the directory entry is on disk.
  try {
    const handle = await fs.open(directory, 'r');
    try { await handle.sync(); } finally { await handle.close(); }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  }
}
