import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { ImageFolder, ImageFolderWarning } from '../src/data/image-folder.js';
import { DataLoader } from '../src/data/loader.js';

async function png(width: number, height: number, colour: { r: number; g: number; b: number }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer();
}

/** root/{wolf, dog, Cat} plus hidden entries, a text file and a corrupt JPEG in dog/. */
async function makeTree(): Promise<string> {
  const root = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-folder-'));
  const red = await png(12, 8, { r: 255, g: 0, b: 0 });
  for (const name of ['wolf', 'dog', 'Cat', '.hidden-class']) await fs.mkdir(path.join(root, name));
  await fs.writeFile(path.join(root, 'wolf', 'b.png'), red);
  await fs.writeFile(path.join(root, 'wolf', 'a.PNG'), red);
  await fs.mkdir(path.join(root, 'wolf', 'nested'));
  await fs.writeFile(path.join(root, 'wolf', 'nested', 'c.jpg'), await sharp(red).jpeg().toBuffer());
  await fs.writeFile(path.join(root, 'dog', 'x.png'), await png(10, 10, { r: 0, g: 0, b: 255 }));
  await fs.writeFile(path.join(root, 'dog', 'broken.jpg'), Buffer.from('this is not a jpeg at all'));
  await fs.writeFile(path.join(root, 'dog', 'notes.txt'), 'hello');
  await fs.writeFile(path.join(root, 'dog', '.DS_Store'), 'junk');
  await fs.writeFile(path.join(root, 'Cat', 'y.webp'), await sharp(red).webp().toBuffer());
  await fs.writeFile(path.join(root, '.hidden-class', 'z.png'), red);
  await fs.writeFile(path.join(root, 'stray.png'), red);
  return root;
}

test('ImageFolder: sorted class folders, recursive, hidden entries ignored, corrupt files reported and skipped', async () => {
  const root = await makeTree();
  try {
    const warnings: ImageFolderWarning[] = [];
    const folder = await ImageFolder.open(root, { onWarning: (w) => warnings.push(w) });
    assert.deepEqual(folder.classNames, ['Cat', 'dog', 'wolf']); // code-point order, as Python's sorted()
    assert.deepEqual(
      folder.samples.map((s) => [path.relative(root, s.path), s.label]),
      [['Cat/y.webp', 0], ['dog/x.png', 1], ['wolf/a.PNG', 2], ['wolf/b.png', 2], ['wolf/nested/c.jpg', 2]],
    );
    assert.deepEqual(
      warnings.map((w) => path.relative(root, w.path)).sort(),
      ['dog/broken.jpg', 'dog/notes.txt'],
    );
    assert.match(warnings.find((w) => w.path.endsWith('broken.jpg'))!.reason, /^cannot decode: .*unsupported image format/);
    assert.deepEqual(folder.skipped.map((w) => w.kind).sort(), ['bad-image', 'not-an-image']);
    assert.deepEqual([folder.samples[0]!.width, folder.samples[0]!.height], [12, 8]);
    const sample = await folder.get(1);
    assert.deepEqual(sample.shape, [3, 10, 10]);
    assert.equal(sample.label, 1);
    assert.deepEqual([sample.image[0], sample.image[100], sample.image[200]], [0, 0, 255]);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('ImageFolder: onCorrupt "fail" names the file; empty and missing folders are errors', async () => {
  const root = await makeTree();
  try {
    await assert.rejects(ImageFolder.open(root, { onCorrupt: 'fail', onWarning: () => undefined }), (error: Error) => {
      assert.match(error.message, /^bad image .*dog\/broken\.jpg: cannot decode/);
      return true;
    });
    await fs.mkdir(path.join(root, 'empty'));
    await assert.rejects(ImageFolder.open(root, { onWarning: () => undefined }), /class folder .*empty has no readable images/);
    await assert.rejects(ImageFolder.open(path.join(root, 'missing')), /cannot read image folder .*missing/);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('a truncated JPEG that passes the header check is skipped at load time; with nothing left the error says so', async () => {
  const root = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-folder-'));
  try {
    await fs.mkdir(path.join(root, 'a'));
    const noise = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 256));
    const jpeg = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    await fs.writeFile(path.join(root, 'a', 'cut.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    const folder = await ImageFolder.open(root);
    assert.equal(folder.length, 1);
    const loader = new DataLoader(folder, { batchSize: 1 });
    await assert.rejects(async () => {
      for await (const _ of loader) { /* consume */ }
    }, /none of the 1 examples decodes/);
    assert.deepEqual(loader.skipped.list().map((s) => path.basename(s.path)), ['cut.jpg']);
    const strict = new DataLoader(folder, { batchSize: 1, onBadImage: 'fail' });
    await assert.rejects(async () => {
      for await (const _ of strict) { /* consume */ }
    }, /cannot decode .*a\/cut\.jpg/);
    const warnings: string[] = [];
    const verified = ImageFolder.open(root, { verify: 'decode', onWarning: (w) => warnings.push(w.path) });
    await assert.rejects(verified, /has no readable images/);
    assert.deepEqual(warnings.map((w) => path.basename(w)), ['cut.jpg']);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
