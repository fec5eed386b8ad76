import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { photoLikeJpeg } from '../bench/loader-images.js';
import { ImageDecodeError } from '../src/data/bad-images.js';
import { DecodedCache } from '../src/data/decoded-cache.js';
import { useImageBackend } from '../src/data/image-backend.js';
import { nodeImageBackend } from '../src/data/image-backend-node.js';
import { ImageFolder } from '../src/data/image-folder.js';
import { Batch, DataLoader } from '../src/data/loader.js';
import { mulberry32 } from '../src/data/random.js';
import { decodeAndResample, imageDimensions } from '../src/data/sharp-stages.js';
import { compose, evalTransforms, trainTransforms } from '../src/data/transforms.js';

const SIZE = 64;
/** Web-size for a 64 px output: shrink-on-load can never apply (whole image < 4x the output on one side). */
const CACHEABLE = ['web-a.jpg', 'web-b.jpg', 'portrait.jpg', 'small.jpg', 'cmyk.jpg', 'icc-p3.jpg', 'grey.jpg', 'rotated.jpg', 'alpha.png'];
/** 800x600: decoded at 1/2 or 1/4 for most crops, so never cached. */
const LARGE = 'large.jpg';

async function writeFolder(root: string): Promise<void> {
  const random = mulberry32(11);
  await fs.mkdir(path.join(root, 'a'), { recursive: true });
  await fs.mkdir(path.join(root, 'b'), { recursive: true });
  const put = (name: string, bytes: Buffer, k: number) => fs.writeFile(path.join(root, k % 2 ? 'b' : 'a', name), bytes);
  const rgb = async (w: number, h: number) => sharp(await photoLikeJpeg(w, h, random));
  await put('web-a.jpg', await photoLikeJpeg(160, 120, random), 0);
  await put('web-b.jpg', await photoLikeJpeg(150, 150, random), 1);
  await put('portrait.jpg', await photoLikeJpeg(120, 170, random), 2);
  await put('small.jpg', await photoLikeJpeg(70, 50, random), 3); // small crops are enlarged in JS after sharp
  await put('cmyk.jpg', await (await rgb(140, 110)).toColourspace('cmyk').jpeg().toBuffer(), 4);
  await put('icc-p3.jpg', await (await rgb(130, 100)).withIccProfile('p3').jpeg().toBuffer(), 5);
  await put('grey.jpg', await (await rgb(120, 90)).greyscale().jpeg().toBuffer(), 6);
  await put('rotated.jpg', await (await rgb(150, 100)).withMetadata({ orientation: 6 }).jpeg().toBuffer(), 7);
  const alpha = Buffer.alloc(110 * 90 * 4);
  for (let k = 0; k < alpha.length; k++) alpha[k] = Math.floor(random.next() * 256);
  await put('alpha.png', await sharp(alpha, { raw: { width: 110, height: 90, channels: 4 } }).png().toBuffer(), 8);
  await put(LARGE, await photoLikeJpeg(800, 600, random), 9);
}

async function withFolder(run: (root: string) => Promise<void>): Promise<void> {
  const root = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-decoded-cache-'));
  try {
    await writeFolder(root);
    await run(root);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

async function epochBytes(loader: DataLoader): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const batch of loader as AsyncIterable<Batch>) out.push(Buffer.from(batch.images.buffer, batch.images.byteOffset, batch.images.byteLength));
  return out;
}

test('with the decoded-image cache the outputs are bit-identical over epochs of random crops and with the eval transforms; later epochs decode no cached JPEG', async () => {
  await withFolder(async (root) => {
    const folder = await ImageFolder.open(root);
    assert.equal(folder.length, CACHEABLE.length + 1);
    for (const [transforms, channels] of [[trainTransforms(SIZE), 3], [evalTransforms(SIZE), 3], [trainTransforms(SIZE, { mean: [128], std: [64] }), 1]] as const) {
      const plain = new DataLoader(folder, { batchSize: 4, shuffle: true, seed: 3, transforms: compose(transforms, { channels }), decodedCache: 0 });
      const cached = new DataLoader(folder, { batchSize: 4, shuffle: true, seed: 3, transforms: compose(transforms, { channels }) });
      assert.equal(plain.decodedCache, undefined);
      const cache = cached.decodedCache!;
      assert.ok(cache instanceof DecodedCache && cache.budgetBytes > 0, 'on by default in Node');
      for (let epoch = 0; epoch < 3; epoch++) {
        const [a, b] = [await epochBytes(plain), await epochBytes(cached)];
        assert.equal(a.length, b.length);
        a.forEach((batch, k) => assert.ok(batch.equals(b[k]!), `${transforms[0]!.kind} (${channels} channels) epoch ${epoch} batch ${k} differs with the cache`));
        // Every cacheable image was decoded once, in the first epoch; the large JPEG is never cached. With
        // luminance output only the PNG with alpha is (its path converts before resizing anyway).
        const cacheable = channels === 3 ? CACHEABLE.length : 1;
        assert.equal(cache.size, cacheable);
        assert.equal(cache.misses, cacheable, `epoch ${epoch}: no decode after the first epoch`);
        assert.equal(cache.hits, cacheable * epoch);
      }
      // The whole decoded images, RGB (the grey JPEG converted, the PNG's alpha removed) or the PNG's luminance.
      const pixels = channels === 3 ? [[160, 120], [150, 150], [120, 170], [70, 50], [140, 110], [130, 100], [120, 90], [150, 100], [110, 90]] : [[110, 90]];
      assert.equal(cache.usedBytes, pixels.reduce((sum, [w, h]) => sum + w! * h! * channels, 0));
    }
  });
});

test('the budget is respected: a tiny one holds only some images, the rest decode as before with the same outputs', async () => {
  await withFolder(async (root) => {
    const folder = await ImageFolder.open(root);
    const budget = 160 * 120 * 3 + 150 * 150 * 3; // room for about two of the images
    const cached = new DataLoader(folder, { batchSize: 3, shuffle: true, seed: 9, transforms: trainTransforms(SIZE), decodedCache: budget });
    const plain = new DataLoader(folder, { batchSize: 3, shuffle: true, seed: 9, transforms: trainTransforms(SIZE), decodedCache: 0 });
    for (let epoch = 0; epoch < 2; epoch++) {
      const [a, b] = [await epochBytes(plain), await epochBytes(cached)];
      a.forEach((batch, k) => assert.ok(batch.equals(b[k]!), `epoch ${epoch} batch ${k}`));
    }
    const cache = cached.decodedCache!;
    assert.equal(cache.budgetBytes, budget);
    assert.ok(cache.size >= 1 && cache.size < CACHEABLE.length, `${cache.size} images cached`);
    assert.ok(cache.usedBytes <= budget);
    assert.equal(cache.hits, cache.size, 'what was cached in epoch 1 is served in epoch 2');
    // A cache can be shared: passed in, it is used as is.
    const shared = new DecodedCache(1 << 20);
    assert.equal(new DataLoader(folder, { batchSize: 2, transforms: trainTransforms(SIZE), decodedCache: shared }).decodedCache, shared);
    assert.throws(() => new DataLoader(folder, { batchSize: 2, transforms: trainTransforms(SIZE), decodedCache: -1 }), /decodedCache must be a number of bytes >= 0/);
  });
});

test('a file changed on disk is decoded again, not served stale', async () => {
  await withFolder(async (root) => {
    const file = path.join(root, 'a', 'web-a.jpg');
    const pipeline = compose(trainTransforms(SIZE));
    const cache = new DecodedCache(1 << 24);
    const source = { kind: 'file' as const, path: file };
    const first = await pipeline.apply(source, mulberry32(1), undefined, cache);
    assert.equal(cache.misses, 1);
    await pipeline.apply(source, mulberry32(1), undefined, cache);
    assert.equal(cache.hits, 1);
    await fs.writeFile(file, await photoLikeJpeg(160, 120, mulberry32(99)));
    const later = new Date(Date.now() + 5000);
    await fs.utimes(file, later, later);
    const changed = await pipeline.apply(source, mulberry32(1), undefined, cache);
    const fresh = await pipeline.apply(source, mulberry32(1));
    assert.equal(cache.misses, 2, 'decoded again after the change');
    assert.equal(cache.size, 1, 'the stale entry was replaced');
    assert.deepEqual(changed.data, fresh.data);
    assert.notDeepEqual(changed.data, first.data);
  });
});

test('a corrupt file still gets the clear error naming it, with the cache on', async () => {
  await withFolder(async (root) => {
    const good = await fs.readFile(path.join(root, 'a', 'web-a.jpg'));
    const bad = path.join(root, 'b', 'truncated.jpg');
    await fs.writeFile(bad, good.subarray(0, Math.floor(good.length / 2)));
    const cache = new DecodedCache(1 << 24);
    const info = await imageDimensions({ kind: 'file', path: bad });
    await assert.rejects(
      decodeAndResample({ kind: 'file', path: bad }, [{ op: 'resize', width: 32, height: 32 }], 3, info, cache),
      (error: unknown) => error instanceof ImageDecodeError && error.path === bad && error.message.includes(bad),
    );
    assert.equal(cache.size, 0);
    const folder = await ImageFolder.open(root, { verify: 'none' });
    const strict = new DataLoader(folder, { batchSize: 4, transforms: trainTransforms(SIZE), onBadImage: 'fail' });
    await assert.rejects(epochBytes(strict), (error: unknown) => error instanceof ImageDecodeError && error.message.includes('truncated.jpg'));
  });
});

test('a backend without a default cache size (the browser) gets no cache unless asked', async () => {
  await withFolder(async (root) => {
    const folder = await ImageFolder.open(root);
    try {
      useImageBackend({ imageDimensions, decodeAndResample });
      assert.equal(new DataLoader(folder, { batchSize: 2, transforms: trainTransforms(SIZE) }).decodedCache, undefined);
    } finally {
      useImageBackend(nodeImageBackend!);
    }
    assert.ok(new DataLoader(folder, { batchSize: 2, transforms: trainTransforms(SIZE) }).decodedCache);
  });
});

test('--decoded-cache-mb sizes the cache a training run shares between its loaders; 0 turns it off', async () => {
  const { Command } = await import('commander');
  const { addDataFlags, decodedCacheOf } = await import('../src/cli/shared-options.js');
  const parse = (...args: string[]) => addDataFlags(new Command().exitOverride()).parse(['node', 'tlkit', ...args]).opts();
  const sized = decodedCacheOf(parse('--decoded-cache-mb', '5'));
  assert.ok(sized instanceof DecodedCache && sized.budgetBytes === 5 * 2 ** 20);
  assert.equal(decodedCacheOf(parse('--decoded-cache-mb', '0')), 0);
  const byDefault = decodedCacheOf(parse());
  assert.ok(byDefault instanceof DecodedCache && byDefault.budgetBytes > 0 && byDefault.budgetBytes <= 2 ** 30);
  assert.throws(() => parse('--decoded-cache-mb', '-1'), /decoded-cache-mb/);
  await withFolder(async (root) => {
    const { evalLoader, trainLoader } = await import('../src/cli/shared-options.js');
    const folder = await ImageFolder.open(root);
    const train = trainLoader(folder, 4, SIZE, { augment: true, seed: 1, decodedCache: sized });
    assert.equal(train.decodedCache, sized);
    assert.equal(evalLoader(folder, 4, SIZE, { decodedCache: sized }).decodedCache, sized);
    assert.equal(evalLoader(folder, 4, SIZE, { decodedCache: 0 }).decodedCache, undefined);
  });
});

test('tlkit train turns the cache off by default where each image is decoded once (one epoch; cached fixed features)', async () => {
  const { decodesEachImageOnce } = await import('../src/cli/train.js');
  const run = { epochs: 5, mode: 'fixed-feature', bnTrain: false, augment: false, mixing: false };
  assert.equal(decodesEachImageOnce(run), true, 'fixed features without augmentation: fit keeps the backbone outputs');
  assert.equal(decodesEachImageOnce({ ...run, epochs: 1 }), true, 'one epoch');
  assert.equal(decodesEachImageOnce({ ...run, augment: true }), false, 'random crops decode the train images every epoch');
  assert.equal(decodesEachImageOnce({ ...run, bnTrain: true }), false, 'BN training: no frozen prefix, no feature cache');
  assert.equal(decodesEachImageOnce({ ...run, mixing: true }), false, 'mixup turns the feature cache off');
  assert.equal(decodesEachImageOnce({ ...run, mode: 'finetune' }), false, 'fine-tuning reads the images again');
  assert.equal(decodesEachImageOnce({ ...run, mode: 'scratch', epochs: undefined }), false, 'lr-find steps through batches');
});
