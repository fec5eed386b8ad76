/** Files a dataset leaves out, and why: what run.json, the report and `tlkit verify` list. */

export type SkipKind = 'not-an-image' | 'bad-image' | 'too-many-pixels' | 'link';

export interface SkippedFile {
  path: string;
  kind: SkipKind;
  /** One line, without the path: "cannot decode: VipsJpeg: premature end of JPEG image". */
  reason: string;
}

/** sharp's default `limitInputPixels` (0x3FFF * 0x3FFF): a decompression bomb stops here. */
export const DEFAULT_PIXEL_LIMIT = 0x3fff * 0x3fff;

/** An image that failed to decode; the loader skips it, anything else that reads it should name it. */
export class ImageDecodeError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`cannot decode ${path}: ${reason}`);
    this.name = 'ImageDecodeError';
  }
}

/** Bad data found where the caller asked for strictness: names the first bad file and counts the rest. */
export class BadDataError extends Error {
  constructor(readonly files: readonly SkippedFile[]) {
    const first = files[0]!;
    const more = files.length > 1 ? ` (and ${files.length - 1} more bad file${files.length > 2 ? 's' : ''})` : '';
    super(`bad image ${first.path}: ${first.reason}${more}`);
    this.name = 'BadDataError';
  }
}

export function printSkipWarning(file: SkippedFile): void {
  // A link's reason already says it was not followed.
  process.stderr.write(`warning: ${file.path}: ${file.reason}${file.kind === 'link' ? '' : ', skipped'}\n`);
}

/**
 * The files a run left out, each reported once: a file seen by the train loader in every epoch, or by
 * the scan and then by a loader, is warned about the first time only.
 */
export class SkippedFiles {
  private readonly byPath = new Map<string, SkippedFile>();

  constructor(private readonly onNew: (file: SkippedFile) => void = printSkipWarning) {}

  /** Records the file; true (and the warning) only the first time. */
  add(file: SkippedFile): boolean {
    if (this.byPath.has(file.path)) return false;
    this.byPath.set(file.path, file);
    this.onNew(file);
    return true;
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  get size(): number {
    return this.byPath.size;
  }

  /** In the order found. */
  list(): SkippedFile[] {
    return [...this.byPath.values()];
  }
}
