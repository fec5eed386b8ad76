import { promises as fs, type Dirent } from 'node:fs';
import * as path from 'node:path';
import type { SkippedFile } from './bad-images.js';

export interface ClassFolder {
  name: string;
  /** As the user will see it: under the root they gave. */
  dir: string;
  /** With every link resolved. */
  real: string;
}

/**
 * Walks an image folder the way a real photo folder needs: hidden entries ignored, names in byte order,
 * symbolic links followed once. A link is not followed, and is reported instead, when it loops (points to
 * its own folder or one above it), leaves the folder, points into a folder the walk reads anyway (so no
 * image counts twice or for two classes), or points nowhere.
 */
export class FolderWalker {
  private readonly visited = new Set<string>();
  private classReals: string[] = [];

  private constructor(readonly root: string, readonly rootReal: string) {}

  static async create(root: string): Promise<FolderWalker> {
    const real = await fs.realpath(root);
    if (!(await fs.stat(real)).isDirectory()) throw new Error('not a folder');
    return new FolderWalker(root, real);
  }

  /** The root's sub-folders, sorted: torchvision's classes. */
  async classFolders(skip: (file: SkippedFile) => void): Promise<ClassFolder[]> {
    const classes: ClassFolder[] = [];
    const links: Dirent[] = [];
    for (const entry of await sortedEntries(this.root)) {
      if (entry.isDirectory()) classes.push({ name: entry.name, dir: path.join(this.root, entry.name), real: path.join(this.rootReal, entry.name) });
      else if (entry.isSymbolicLink()) links.push(entry);
    }
    for (const entry of links) {
      const full = path.join(this.root, entry.name);
      const target = await this.resolve(full, this.rootReal, skip);
      if (target?.kind !== 'dir') continue;
      const same = classes.find((c) => c.real === target.real);
      if (same) skip({ path: full, kind: 'link', reason: `links to class folder ${same.name}, not followed (its images would count twice)` });
      else classes.push({ name: entry.name, dir: full, real: target.real });
    }
    classes.sort((a, b) => compareCodePoints(a.name, b.name));
    this.classReals = classes.map((c) => c.real);
    for (const real of this.classReals) this.visited.add(real);
    return classes;
  }

  /** Every file under the root, at any depth; links to folders inside it are not followed (read anyway). */
  async allFiles(skip: (file: SkippedFile) => void): Promise<string[]> {
    this.classReals = [this.rootReal];
    const out: string[] = [];
    await this.walk(this.root, this.rootReal, skip, out);
    return out;
  }

  /** Every file under a class folder, depth first in byte order, as paths under the class folder. */
  async files(folder: ClassFolder, skip: (file: SkippedFile) => void): Promise<string[]> {
    const out: string[] = [];
    await this.walk(folder.dir, folder.real, skip, out);
    return out;
  }

  private async walk(dir: string, real: string, skip: (file: SkippedFile) => void, out: string[]): Promise<void> {
    for (const entry of await sortedEntries(dir)) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await this.walk(full, path.join(real, entry.name), skip, out);
      } else if (entry.isFile()) {
        out.push(full);
      } else if (entry.isSymbolicLink()) {
        const target = await this.resolve(full, real, skip);
        if (target?.kind === 'file') out.push(full);
        else if (target?.kind === 'dir') {
          if (this.classReals.some((c) => isWithin(target.real, c)) || this.visited.has(target.real)) {
            skip({ path: full, kind: 'link', reason: `links to ${target.real}, which is read already, not followed` });
            continue;
          }
          this.visited.add(target.real);
          await this.walk(full, target.real, skip, out);
        }
      }
    }
  }

  /** Where a link leads, or undefined (reported) when it must not be followed. */
  private async resolve(full: string, parentReal: string, skip: (file: SkippedFile) => void): Promise<{ kind: 'dir' | 'file'; real: string } | undefined> {
    let real: string;
    try {
      real = await fs.realpath(full);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ELOOP' ? 'symlink loop, not followed' : code === 'ENOENT' ? 'broken link (its target does not exist)' : `unreadable link: ${(error as Error).message}`;
      skip({ path: full, kind: 'link', reason });
      return undefined;
    }
    if (!isWithin(real, this.rootReal)) {
      skip({ path: full, kind: 'link', reason: `link leaves the folder (to ${real}), not followed` });
      return undefined;
    }
    const stat = await fs.stat(real);
    if (stat.isFile()) return { kind: 'file', real };
    if (!stat.isDirectory()) return undefined;
    if (isWithin(parentReal, real)) {
      skip({ path: full, kind: 'link', reason: `symlink loop (links to ${real}, a folder it is in), not followed` });
      return undefined;
    }
    return { kind: 'dir', real };
  }
}

async function sortedEntries(dir: string): Promise<Dirent[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => compareCodePoints(a.name, b.name));
}

function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

/** Byte order, like Python's sorted(), so labels match torchvision's whatever the locale. */
export function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
