import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { mulberry32, Random, randomInt } from '../src/data/random.js';

/** Photo sizes the benches use: a web photo (~500x375) and a phone camera's (~4000x3000). */
export const PHOTO_SIZES = {
  web: { long: [470, 530], short: [350, 400] },
  phone: { long: [3900, 4100], short: [2900, 3100] },
} as const;

/**
 * Writes `count` photo-like JPEGs (smooth colour fields, grain and shapes, 20% portrait) of the given size class
 * into `root/<class>/`, so the benchmark decodes files of realistic size and content.
 */
export async function writeBenchImages(
  root: string,
  count: number,
  classes = ['cat', 'dog'],
  seed = 1,
  size: keyof typeof PHOTO_SIZES = 'web',
): Promise<number> {
  const random = mulberry32(seed);
  const range = PHOTO_SIZES[size];
  let bytes = 0;
  for (const name of classes) await fs.mkdir(path.join(root, name), { recursive: true });
  for (let i = 0; i < count; i++) {
    const portrait = random.next() < 0.2;
    const long = randomInt(random, range.long[0], range.long[1]);
    const short = randomInt(random, range.short[0], range.short[1]);
    const [width, height] = portrait ? [short, long] : [long, short];
    const jpeg = await photoLikeJpeg(width, height, random);
    bytes += jpeg.length;
    await fs.writeFile(path.join(root, classes[i % classes.length]!, `img_${String(i).padStart(4, '0')}.jpg`), jpeg);
  }
  return bytes;
}

export async function photoLikeJpeg(width: number, height: number, random: Random): Promise<Buffer> {
  const coarse = Buffer.alloc(16 * 12 * 3);
  for (let k = 0; k < coarse.length; k++) coarse[k] = Math.floor(random.next() * 256);
  const field = await sharp(coarse, { raw: { width: 16, height: 12, channels: 3 } })
    .resize(width, height, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer();
  for (let k = 0; k < field.length; k++) field[k] = Math.max(0, Math.min(255, field[k]! + Math.floor((random.next() - 0.5) * 40)));
  const shapes: string[] = [];
  const unit = width > 1000 ? width / 500 : 1; // shapes keep their share of the picture on large photos
  for (let s = 0; s < 12; s++) {
    const colour = `rgb(${randomInt(random, 0, 256)},${randomInt(random, 0, 256)},${randomInt(random, 0, 256)})`;
    const x = randomInt(random, 0, width);
    const y = randomInt(random, 0, height);
    const size = randomInt(random, 10, 120) * unit;
    shapes.push(
      random.next() < 0.5
        ? `<circle cx="${x}" cy="${y}" r="${size / 2}" fill="${colour}" fill-opacity="0.8"/>`
        : `<rect x="${x}" y="${y}" width="${size}" height="${size * 0.6}" fill="${colour}" transform="rotate(${randomInt(random, 0, 90)} ${x} ${y})"/>`,
    );
  }
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`);
  return sharp(field, { raw: { width, height, channels: 3 } })
    .composite([{ input: svg }])
    .jpeg({ quality: 90, mozjpeg: false })
    .toBuffer();
}
