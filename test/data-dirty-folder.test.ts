import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BadDataError, SkippedFiles, type SkippedFile } from '../src/data/bad-images.js';
import { ImageFolder } from '../src/data/image-folder.js';
import { DataLoader, type Batch } from '../src/data/loader.js';
import { createResNet } from '../src/models/registry.js';
import { seedInitializers } from '../src/nn/init.js';
import { trainFixedFeature } from '../src/transfer/strategies.js';
import { compose, evalTransforms } from '../src/data/transforms.js';
import { verifyImages } from '../src/data/verify.js';
import { writeDirtyClass, type DirtyClass } from './helpers/dirty-images.js';

let dir: string;
let root: string;
let dirty: DirtyClass;

before(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-dirty-'));
  root = path.join(dir, 'images');
  dirty = await writeDirtyClass(path.join(root, 'cats'), path.join(dir, 'outside'));
  await writeDirtyClass(path.join(root, 'dogs'), path.join(dir, 'outside'), { seed: 2 });
});
after(() => fs.rm(dir, { recursive: true, force: true }));

const relative = (files: readonly { path: string }[]) => files.map((f) => path.relative(root, f.path)).sort();
const inBoth = (names: readonly string[]) => ['cats', 'dogs'].flatMap((c) => names.map((n) => `${c}/${n}`)).sort();

test('ImageFolder on a dirty folder: every good image kept, header-bad files and bad links reported once, loops not followed', async () => {
  const warnings: SkippedFile[] = [];
  const folder = await ImageFolder.open(root, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(folder.classNames, ['cats', 'dogs']);
  // The truncated files pass a header read: the loader meets them.
  assert.deepEqual(relative(folder.samples), inBoth([...dirty.good, ...dirty.badDecode]));
  assert.deepEqual(warnings, folder.skipped);
  const byKind = (kind: string) => relative(folder.skipped.filter((s) => s.kind === kind));
  assert.deepEqual(byKind('bad-image'), inBoth(['text.jpg', 'zero-bytes.jpg']));
  assert.deepEqual(byKind('too-many-pixels'), inBoth(['pixel-bomb.png']));
  assert.deepEqual(byKind('link'), inBoth(dirty.links));
  assert.deepEqual(byKind('not-an-image'), inBoth(['notes.txt']));
  const reason = (name: string) => folder.skipped.find((s) => path.relative(root, s.path) === name)!.reason;
  assert.match(reason('cats/pixel-bomb.png'), /20000x20000 is 400000000 pixels, above the pixel limit of 268402689/);
  assert.match(reason('cats/loop/back'), /symlink loop/);
  assert.match(reason('cats/outside.png'), /leaves the folder/);
  assert.match(reason('cats/outside-folder'), /leaves the folder/);
  assert.match(reason('cats/zero-bytes.jpg'), /cannot decode/);
  const rotated = folder.samples.find((s) => s.path.endsWith('cats/exif-rotated.jpg'))!;
  assert.deepEqual([rotated.width, rotated.height], [24, 32], 'dimensions after EXIF orientation');
});

test('DataLoader: a bad image is skipped when its decode fails, its place filled from the next example; batch sizes and steps as planned', async () => {
  const folder = await ImageFolder.open(root, { onWarning: () => undefined });
  const warned: string[] = [];
  const skipped = new SkippedFiles((s) => warned.push(path.relative(root, s.path)));
  const loader = new DataLoader(folder, { batchSize: 4, shuffle: true, seed: 3, transforms: compose(evalTransforms(16)), skipped });
  const bad = new Set(folder.samples.flatMap((s, i) => (dirty.badDecode.some((b) => s.path.endsWith(b)) ? [i] : [])));
  assert.equal(bad.size, 4);
  for (let epoch = 0; epoch < 2; epoch++) {
    const sizes: number[] = [];
    const used = new Set<number>();
    for await (const batch of loader) {
      sizes.push(batch.labels.length);
      assert.equal(batch.images.length, batch.labels.length * 3 * 16 * 16);
      batch.indices.forEach((index, k) => {
        used.add(index);
        assert.equal(batch.labels[k], folder.labelAt(index), 'each label belongs to the image in its slot');
      });
    }
    // 22 examples planned (18 good + 4 truncated): 5 full batches and a remainder of 2, both epochs.
    assert.deepEqual(sizes, [4, 4, 4, 4, 4, 2]);
    assert.equal(sizes.length, loader.steps);
    const good = folder.samples.map((_, i) => i).filter((i) => !bad.has(i));
    assert.deepEqual([...used].sort((a, b) => a - b), good, `epoch ${epoch}: every good image used, no bad one`);
  }
  assert.deepEqual(warned.sort(), inBoth(dirty.badDecode), 'each bad image warned about once over two epochs');
  assert.deepEqual(relative(skipped.list()), inBoth(dirty.badDecode));
  assert.match(skipped.list()[0]!.reason, /^cannot decode: (VipsJpeg: premature end|.*read error)/i);
});

test("DataLoader onBadImage 'drop' leaves the batch smaller (evaluation); a shared list warns once across loaders", async () => {
  const folder = await ImageFolder.open(root, { onWarning: () => undefined });
  let warnings = 0;
  const skipped = new SkippedFiles(() => warnings++);
  const dropping = new DataLoader(folder, { batchSize: 22, transforms: compose(evalTransforms(16)), onBadImage: 'drop', skipped });
  const batches = [];
  for await (const batch of dropping) batches.push(batch);
  assert.equal(batches.length, 1);
  assert.equal(batches[0]!.labels.length, 18);
  const again = new DataLoader(folder, { batchSize: 5, transforms: compose(evalTransforms(16)), skipped });
  for await (const _ of again) { /* consume */ }
  assert.equal(warnings, 4);
});

test('strict opening (full decode, onCorrupt fail) names the first bad file in folder order and counts the rest', async () => {
  await assert.rejects(ImageFolder.open(root, { verify: 'decode', onCorrupt: 'fail', onWarning: () => undefined }), (error: Error) => {
    assert.ok(error instanceof BadDataError);
    assert.match(error.message, /^bad image .*cats\/pixel-bomb\.png: 20000x20000 is 400000000 pixels, above the pixel limit .* \(and 9 more bad files\)$/);
    assert.deepEqual(relative(error.files), inBoth([...dirty.badHeader, ...dirty.badDecode]));
    return true;
  });
});

test('the pixel limit is configurable: lower skips ordinary images, 0 lifts it', async () => {
  // The good images are 32x24 = 768 pixels, the truncated JPEG 64x64 = 4096.
  const low = await ImageFolder.open(root, { pixelLimit: 1000, onWarning: () => undefined });
  assert.deepEqual(relative(low.samples), inBoth([...dirty.good, 'truncated.png']));
  assert.match(low.skipped.find((s) => s.path.endsWith('cats/truncated.jpg'))!.reason, /64x64 is 4096 pixels, above the pixel limit of 1000/);
  await assert.rejects(ImageFolder.open(root, { pixelLimit: 500, onWarning: () => undefined }), /class folder .*cats has no readable images/);
  const none = await ImageFolder.open(root, { pixelLimit: 0, onWarning: () => undefined });
  assert.ok(none.samples.some((s) => s.path.endsWith('cats/pixel-bomb.png')), 'no limit: the bomb passes the header check');
  // Without a header check the limit still holds where the image is decoded.
  const unchecked = await ImageFolder.open(root, { verify: 'none', pixelLimit: 1000, onWarning: () => undefined });
  const big = unchecked.samples.findIndex((s) => s.path.endsWith('cats/truncated.jpg'));
  await assert.rejects(unchecked.get(big), /cannot decode .*cats\/truncated\.jpg: Input image exceeds pixel limit/);
  await unchecked.get(unchecked.samples.findIndex((s) => s.path.endsWith('cats/plain.png')));
});

test('verifyImages: full decode of every image at any depth, bad ones in folder order, progress reported per image', async () => {
  const progress: Array<[number, number]> = [];
  const result = await verifyImages(root, { concurrency: 3, onProgress: (done, total) => progress.push([done, total]) });
  assert.equal(result.checked, 2 * (dirty.good.length + dirty.badHeader.length + dirty.badDecode.length));
  assert.deepEqual(result.bad.map((b) => path.relative(root, b.path)), inBoth([...dirty.badHeader, ...dirty.badDecode]));
  assert.deepEqual(relative(result.links), inBoth(dirty.links));
  assert.equal(result.others, 2);
  assert.deepEqual(progress.map(([done]) => done), Array.from({ length: result.checked }, (_, k) => k + 1));
  assert.ok(progress.every(([, total]) => total === result.checked));
});

test('fixed-feature training with an image that fails to decode still trains later epochs from the feature cache', async () => {
  class CountingLoader extends DataLoader {
    passes = 0;
    override epoch(epoch: number): AsyncGenerator<Batch> {
      this.passes++;
      return super.epoch(epoch);
    }
  }
  const folder = await ImageFolder.open(root, { onWarning: () => undefined });
  const skipped = new SkippedFiles(() => undefined);
  const train = new CountingLoader(folder, { batchSize: 4, shuffle: true, seed: 1, transforms: compose(evalTransforms(12)), skipped });
  seedInitializers(3);
  const net = createResNet('resnet18', { numClasses: 2, width: 4, smallInput: true });
  const result = await trainFixedFeature(net, {
    epochs: 3, train, inputShape: [3, 12, 12], lr: 0.01, optimizer: { kind: 'momentum', momentum: 0.9 }, log: () => undefined, progress: false,
  });
  assert.equal(result.history.length, 3);
  assert.equal(skipped.size, 4);
  assert.equal(train.passes, 1, 'epochs 2 and 3 come from the cache, without the bad images');
  const order = train.order(1);
  assert.ok(![...order].some((i) => train.excluded.has(i)), 'the order the cache follows has the bad images replaced');
  assert.equal(order.length, folder.length);
});
