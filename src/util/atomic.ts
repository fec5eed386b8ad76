import { promises as fs, openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';

function temporaryNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
}

const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder is in the way',
  EIO: 'input/output error (a failing disk or a lost network mount)',
  EFBIG: 'the file is too large for the file system',
};

/**
 * A file could not be written: names the file meant (not the temporary one the error happened on) and
 * the cause in words. Whatever the file held before is untouched (writes go to a temporary, then rename).
 */
export class WriteFaultError extends Error {
  readonly code: string | undefined;

  constructor(readonly file: string, cause: unknown, code = (cause as NodeJS.ErrnoException | undefined)?.code) {
    const described = code !== undefined && CAUSES[code] ? `${CAUSES[code]} (${code})` : (cause as Error)?.message ?? String(cause);
    super(`cannot write ${file}: ${described}`, { cause });
    this.name = 'WriteFaultError';
    this.code = code;
  }
}

/** mkdir -p that says which folder could not be made, and why (a file in the way reads as ENOTDIR). */
export async function ensureFolder(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new WriteFaultError(dir, error, code === 'EEXIST' ? 'ENOTDIR' : code);
  }
}

/**
 * Writes to a temporary file beside the target, fsyncs, then renames over it, so a crash
 * at any moment leaves either the old file or the new one, never a torn one.
 */
export async function writeFileAtomic(target: string, chunks: Uint8Array | Uint8Array[]): Promise<void> {
  await ensureFolder(path.dirname(target)).catch((error: WriteFaultError) => {
    throw new WriteFaultError(target, error.cause, error.code);
  });
  const temporary = temporaryNameFor(target);
  let handle;
  try {
    handle = await fs.open(temporary, 'w');
  } catch (error) {
    throw new WriteFaultError(target, error);
  }
  try {
    for (const chunk of Array.isArray(chunks) ? chunks : [chunks]) await handle.write(chunk);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temporary, { force: true });
    throw new WriteFaultError(target, error);
  }
  try {
    await handle.close();
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw new WriteFaultError(target, error);
  }
  await syncDirectory(path.dirname(target));
}

export function writeFileAtomicSync(target: string, chunks: Uint8Array | Uint8Array[]): void {
  const temporary = temporaryNameFor(target);
  let fd;
  try {
    fd = openSync(temporary, 'w');
  } catch (error) {
    throw new WriteFaultError(target, error);
  }
  try {
    for (const chunk of Array.isArray(chunks) ? chunks : [chunks]) writeSync(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, target);
  } catch (error) {
    try { closeSync(fd); } catch { /* closed already */ }
    try { unlinkSync(temporary); } catch { /* never made or renamed */ }
    throw new WriteFaultError(target, error);
  }
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
