import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import yauzl from 'yauzl';

export interface ExtractZipOptions {
  /** Replace an existing target folder (atomically, after extraction succeeded). Default false: refuse. */
  replace?: boolean;
  /** Largest allowed uncompressed/compressed ratio, per entry and for the whole archive. Default 100. */
  maxRatio?: number;
  /** Sizes below this are never refused for their ratio (small runs of zeros compress very well). Default 8 MiB. */
  ratioAllowanceBytes?: number;
  /** Absolute cap on the total uncompressed size. Default: no cap beyond the ratio. */
  maxTotalBytes?: number;
  /** Most entries accepted. Default 1,000,000. */
  maxEntries?: number;
}

export interface ExtractZipResult {
  dir: string;
  files: number;
  directories: number;
  bytes: number;
}

/** The archive holds something tlkit will not extract; `entry` is its name as stored. */
export class UnsafeZipError extends Error {
  constructor(
    readonly zipPath: string,
    readonly entry: string | undefined,
    problem: string,
  ) {
    super(entry === undefined ? `${zipPath}: ${problem}` : `${zipPath}: entry ${JSON.stringify(entry)}: ${problem}`);
    this.name = 'UnsafeZipError';
  }
}

interface PlannedEntry {
  entry: yauzl.Entry;
  name: string;
  relative: string;
  isDirectory: boolean;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/**
 * Extracts `zipPath` into `targetDir` after checking every entry: no absolute paths, drive letters,
 * backslashes or `..` components, no symlinks or device files, no declared sizes far beyond the archive
 * (and the bytes actually inflated are counted, so a lying header cannot get past that check). Everything
 * is written to a temporary sibling folder and renamed into place, so a failure leaves the target as it was.
 */
export async function extractZip(zipPath: string, targetDir: string, options: ExtractZipOptions = {}): Promise<ExtractZipResult> {
  const target = path.resolve(targetDir);
  const targetExists = await exists(target);
  if (targetExists && !options.replace) {
    throw new Error(`cannot extract ${zipPath}: ${target} already exists (pass replace to overwrite it)`);
  }
  const archiveBytes = (await fs.stat(zipPath)).size;

  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await yauzl.openPromise(zipPath, {
      decodeStrings: false, // names are decoded and checked here, so the error can name the entry
      validateEntrySizes: false, // sizes are counted here, with an error that names the entry
      autoClose: false,
      strictFileNames: true,
    });
  } catch (error) {
    throw new Error(`${zipPath} is not a readable zip archive: ${messageOf(error)}`);
  }

  const parent = path.dirname(target);
  const staging = path.join(parent, `.${path.basename(target)}.extracting-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const plan = await planEntries(zipfile, zipPath, archiveBytes, options);
    await fs.mkdir(parent, { recursive: true });
    await fs.mkdir(staging);
    const result = await writeEntries(zipfile, zipPath, plan, staging, options);
    await moveIntoPlace(staging, target, targetExists);
    return { dir: target, ...result };
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    zipfile.close();
  }
}

async function planEntries(
  zipfile: yauzl.ZipFile,
  zipPath: string,
  archiveBytes: number,
  options: ExtractZipOptions,
): Promise<PlannedEntry[]> {
  const maxRatio = options.maxRatio ?? 100;
  const allowance = options.ratioAllowanceBytes ?? 8 * 1024 * 1024;
  const maxEntries = options.maxEntries ?? 1_000_000;
  if (zipfile.entryCount > maxEntries) {
    throw new UnsafeZipError(zipPath, undefined, `${zipfile.entryCount} entries, more than the ${maxEntries} allowed`);
  }
  const plan: PlannedEntry[] = [];
  const seen = new Set<string>();
  let declaredTotal = 0;
  try {
    for await (const entry of zipfile.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
      const refuse = (problem: string): never => {
        throw new UnsafeZipError(zipPath, name, problem);
      };
      const nameProblem = problemWithName(name);
      if (nameProblem !== null) refuse(nameProblem);

      const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
      const fileType = mode & S_IFMT;
      if (fileType === S_IFLNK) refuse('is a symbolic link; links are not extracted');
      if (fileType !== 0 && fileType !== S_IFREG && fileType !== S_IFDIR) {
        refuse(`is a special file (mode ${mode.toString(8)}); only files and folders are extracted`);
      }
      const isDirectory = name.endsWith('/') || fileType === S_IFDIR;
      const relative = name.replace(/\/+$/, '');
      if (seen.has(relative)) refuse('appears twice in the archive');
      seen.add(relative);

      if (!isDirectory) {
        if (entry.isEncrypted()) refuse('is encrypted');
        if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
          refuse(`uses compression method ${entry.compressionMethod}; only stored (0) and deflate (8) are supported`);
        }
        if (entry.compressionMethod === 0 && entry.compressedSize !== entry.uncompressedSize) {
          refuse(`is stored uncompressed but declares ${entry.uncompressedSize} bytes in ${entry.compressedSize}`);
        }
        if (entry.uncompressedSize > allowance && entry.uncompressedSize > entry.compressedSize * maxRatio) {
          refuse(
            `declares ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed ` +
              `(ratio over ${maxRatio}); refusing a likely zip bomb`,
          );
        }
        declaredTotal += entry.uncompressedSize;
        if (options.maxTotalBytes !== undefined && declaredTotal > options.maxTotalBytes) {
          refuse(`brings the archive's total to ${declaredTotal} bytes, over the ${options.maxTotalBytes} allowed`);
        }
      }
      plan.push({ entry, name, relative, isDirectory });
    }
  } catch (error) {
    if (error instanceof UnsafeZipError) throw error;
    throw new Error(`${zipPath} is not a readable zip archive: ${messageOf(error)}`);
  }
  if (declaredTotal > allowance && declaredTotal > archiveBytes * maxRatio) {
    throw new UnsafeZipError(
      zipPath,
      undefined,
      `entries declare ${declaredTotal} bytes in total from a ${archiveBytes}-byte archive ` +
        `(ratio over ${maxRatio}); refusing a likely zip bomb`,
    );
  }
  return plan;
}

/** Why a stored name cannot be extracted safely, or null. */
export function problemWithName(name: string): string | null {
  if (/^\/*$/.test(name)) return 'has an empty name';
  if (name.includes('\0')) return 'contains a NUL character';
  if (name.includes('\\')) return 'contains a backslash (a Windows path separator; zip names use /)';
  if (name.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter (an absolute Windows path)';
  if (name.split('/').includes('..')) return "has a '..' component that would escape the target folder";
  return null;
}

async function writeEntries(
  zipfile: yauzl.ZipFile,
  zipPath: string,
  plan: PlannedEntry[],
  staging: string,
  options: ExtractZipOptions,
): Promise<Omit<ExtractZipResult, 'dir'>> {
  const budget = options.maxTotalBytes ?? Number.POSITIVE_INFINITY;
  let total = 0;
  let files = 0;
  let directories = 0;
  const createdFolders = new Set<string>();
  for (const { entry, name, relative, isDirectory } of plan) {
    const destination = path.resolve(staging, relative);
    // Some archivers store './' for the root itself: nothing to create.
    if (destination === staging && isDirectory) continue;
    if (!destination.startsWith(staging + path.sep)) {
      throw new UnsafeZipError(zipPath, name, 'resolves outside the target folder');
    }
    try {
      if (isDirectory) {
        await fs.mkdir(destination, { recursive: true });
        directories += 1;
        continue;
      }
      const folder = path.dirname(destination);
      if (!createdFolders.has(folder)) {
        await fs.mkdir(folder, { recursive: true });
        createdFolders.add(folder);
      }
      const source = await zipfile.openReadStreamPromise(entry);
      const counter = new CountingCrc32(entry.uncompressedSize, budget - total);
      await pipeline(source, counter, createWriteStream(destination, { flags: 'wx', mode: 0o644 }));
      if (counter.bytes !== entry.uncompressedSize) {
        throw new Error(`inflated to ${counter.bytes} bytes but declares ${entry.uncompressedSize}`);
      }
      if (counter.crc !== entry.crc32) {
        throw new Error(`CRC-32 mismatch (stored ${hex32(entry.crc32)}, data ${hex32(counter.crc)}): the archive is corrupt`);
      }
      total += counter.bytes;
      files += 1;
    } catch (error) {
      if (error instanceof UnsafeZipError) throw error;
      throw new UnsafeZipError(zipPath, name, messageOf(error));
    }
  }
  return { files, directories, bytes: total };
}

/** Counts and checksums inflated bytes, failing as soon as an entry outgrows its declared size or the budget. */
class CountingCrc32 extends Transform {
  bytes = 0;
  crc = 0;

  constructor(
    private readonly declared: number,
    private readonly budget: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.byteLength;
    if (this.bytes > this.declared) {
      callback(new Error(`inflates beyond its declared ${this.declared} bytes (a lying header); refusing a likely zip bomb`));
      return;
    }
    if (this.bytes > this.budget) {
      callback(new Error('inflates beyond the allowed total size'));
      return;
    }
    this.crc = crc32(chunk, this.crc);
    callback(null, chunk);
  }
}

async function moveIntoPlace(staging: string, target: string, targetExists: boolean): Promise<void> {
  if (!targetExists) {
    await fs.rename(staging, target);
    return;
  }
  const previous = `${staging}.previous`;
  await fs.rename(target, previous);
  try {
    await fs.rename(staging, target);
  } catch (error) {
    await fs.rename(previous, target);
    throw error;
  }
  await fs.rm(previous, { recursive: true, force: true });
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** zlib.crc32 exists from Node 20.15; the table version keeps older 20.x working. */
function crc32(data: Uint8Array, previous: number): number {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(data, previous);
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = (CRC_TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function hex32(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
