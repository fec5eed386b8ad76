import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files that writeFileAtomic left beside `targets` when its process was killed
 * mid-write (`.<name>.<pid>.<time>.tmp`). They never replace the real file, but a checkpoint with
 * optimizer moments is hundreds of MB, so repeated crashes would fill the disk. Files of a
 * process still running are left alone. Returns the names removed.
 */
export async function removeStaleTemporaries(directory: string, targets: readonly string[]): Promise<string[]> {
  const names = await fs.readdir(directory).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    for (const target of targets) {
      const prefix = `.${target}.`;
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const match = /^(\d+)\.\d+\.tmp$/.exec(name.slice(prefix.length));
      if (!match || processIsAlive(Number(match[1]))) continue;
      await fs.rm(path.join(directory, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}
