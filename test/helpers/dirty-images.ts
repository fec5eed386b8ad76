/**
 * A class folder as scraped photo folders come: every kind of good image sharp must read (PNG named .jpg,
 * CMYK, 16-bit, gray, EXIF-rotated, a link to another image), bad files found by the header check (zero
 * bytes, text named .jpg, a decompression bomb), bad files only a full decode finds (truncated JPEG and
 * PNG), and links that must not be followed (a loop, links leaving the folder). All tiny.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export interface DirtyClass {
  /** Names (relative to the class folder) of the images that must become examples. */
  good: string[];
  /** Found by the header check: skipped when the folder is opened. */
  badHeader: string[];
  /** Pass the header check, fail when decoded. */
  badDecode: string[];
  /** Links reported, not followed. */
  links: string[];
}

function noise(width: number, height: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => (i * 7919 + seed * 104729) % 256));
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid 1-bit PNG of side x side pixels (400 M at 20000): ~50 kB on disk, a bomb once decoded. */
export function pixelBombPng(side = 20000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // gray
  const rows = Buffer.alloc((1 + Math.ceil(side / 8)) * side);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Writes the dirty files into `dir` (created); `outside` is a folder outside the image folder that the
 * leaving links point to (created, with an image in it). `side` is the good images' height.
 */
export async function writeDirtyClass(dir: string, outside: string, options: { side?: number; seed?: number } = {}): Promise<DirtyClass> {
  const side = options.side ?? 24;
  const seed = options.seed ?? 1;
  const w = Math.round((side * 4) / 3);
  const raw = { raw: { width: w, height: side, channels: 3 as const } };
  const pixels = noise(w, side, seed);
  await fs.mkdir(path.join(dir, 'loop'), { recursive: true });
  await fs.mkdir(outside, { recursive: true });
  const png = await sharp(pixels, raw).png().toBuffer();
  const jpeg = await sharp(pixels, raw).jpeg().toBuffer();
  const files: Record<string, Buffer> = {
    'plain.png': png,
    'plain.jpg': jpeg,
    'png-named.jpg': png,
    'cmyk.jpg': await sharp(pixels, raw).toColourspace('cmyk').jpeg().toBuffer(),
    '16-bit.png': await sharp(pixels, raw).toColourspace('rgb16').png().toBuffer(),
    'gray.jpg': await sharp(pixels, raw).toColourspace('b-w').jpeg().toBuffer(),
    'exif-rotated.jpg': await sharp(jpeg).withMetadata({ orientation: 6 }).jpeg().toBuffer(),
    'loop/inside.png': png,
    'zero-bytes.jpg': Buffer.alloc(0),
    'text.jpg': Buffer.from('<html>404 not found</html>\n'),
    'pixel-bomb.png': pixelBombPng(),
    // Cut inside the entropy-coded data, after the headers, as an interrupted download leaves them.
    'truncated.jpg': (await sharp(noise(64, 64, seed), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer()).subarray(0, 1500),
    'truncated.png': png.subarray(0, Math.floor(png.length / 2)),
    'notes.txt': Buffer.from('where these came from\n'),
  };
  await Promise.all(Object.entries(files).map(([name, bytes]) => fs.writeFile(path.join(dir, name), bytes)));
  await fs.writeFile(path.join(outside, 'elsewhere.png'), png);
  await fs.symlink('plain.png', path.join(dir, 'link-to-plain.png'));
  await fs.symlink('..', path.join(dir, 'loop', 'back'));
  await fs.symlink(path.join(outside, 'elsewhere.png'), path.join(dir, 'outside.png'));
  await fs.symlink(outside, path.join(dir, 'outside-folder'));
  return {
    good: ['16-bit.png', 'cmyk.jpg', 'exif-rotated.jpg', 'gray.jpg', 'link-to-plain.png', 'loop/inside.png', 'plain.jpg', 'plain.png', 'png-named.jpg'],
    badHeader: ['pixel-bomb.png', 'text.jpg', 'zero-bytes.jpg'],
    badDecode: ['truncated.jpg', 'truncated.png'],
    links: ['loop/back', 'outside-folder', 'outside.png'],
  };
}
