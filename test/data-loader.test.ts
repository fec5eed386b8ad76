import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { InMemoryDataset } from '../src/data/dataset.js';
import { ImageFolder } from '../src/data/image-folder.js';
import { Batch, DataLoader } from '../src/data/loader.js';
import { HWC2CHW, Normalize, trainTransforms } from '../src/data/transforms.js';

/** 10 images of 1x2x2 whose pixels all equal the index; label = index % 3. */
function tenImages(): InMemoryDataset {
  const n = 10;
  return new InMemoryDataset({
    images: Uint8Array.from({ length: n * 4 }, (_, i) => Math.floor(i / 4)),
    shape: [n, 1, 2, 2],
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    classNames: ['a', 'b', 'c'],
  });
}

async function collect(loader: AsyncIterable<Batch>): Promise<Batch[]> {
  const batches: Batch[] = [];
  for await (const batch of loader) batches.push(batch);
  return batches;
}

test('batches keep the remainder by default and drop it on request; steps matches', async () => {
  const keep = new DataLoader(tenImages(), { batchSize: 4 });
  assert.equal(keep.steps, 3);
  const batches = await collect(keep);
  assert.deepEqual(batches.map((b) => b.shape), [[4, 1, 2, 2], [4, 1, 2, 2], [2, 1, 2, 2]]);
  assert.deepEqual(Array.from(batches[2]!.labels), [8 % 3, 9 % 3]);
  assert.deepEqual(Array.from(batches[1]!.images.subarray(0, 8)), [4, 4, 4, 4, 5, 5, 5, 5]);
  const drop = new DataLoader(tenImages(), { batchSize: 4, dropRemainder: true });
  assert.equal(drop.steps, 2);
  assert.equal((await collect(drop)).length, 2);
  assert.equal(new DataLoader(tenImages(), { batchSize: 5, dropRemainder: true }).steps, 2);
});

test('shuffling is seeded: each epoch is a permutation, reproducible, different between epochs', async () => {
  const make = (): DataLoader => new DataLoader(tenImages(), { batchSize: 3, shuffle: true, seed: 9, concurrency: 3 });
  const loader = make();
  const epoch0 = (await collect(loader)).flatMap((b) => Array.from(b.indices));
  const epoch1 = (await collect(loader)).flatMap((b) => Array.from(b.indices));
  assert.deepEqual([...epoch0].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(epoch0, epoch1);
  assert.deepEqual((await collect(make())).flatMap((b) => Array.from(b.indices)), epoch0);
  // Labels and pixels travel with their index.
  for (const batch of await collect(make())) {
    batch.indices.forEach((index, k) => {
      assert.equal(batch.labels[k], index % 3);
      assert.equal(batch.images[k * 4], index);
    });
  }
});

test('transforms run per example; random augmentation is reproducible whatever the concurrency', async () => {
  const root = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-loader-'));
  try {
    for (const [k, name] of ['cat', 'dog'].entries()) {
      await fs.mkdir(path.join(root, name));
      for (let i = 0; i < 3; i++) {
        const pixels = Buffer.from(Array.from({ length: 50 * 40 * 3 }, (_, p) => (p * (7 + i + k)) % 251));
        await sharp(pixels, { raw: { width: 50, height: 40, channels: 3 } }).jpeg().toFile(path.join(root, name, `${i}.jpg`));
      }
    }
    const folder = await ImageFolder.open(root);
    const run = async (concurrency: number): Promise<Batch[]> =>
      collect(new DataLoader(folder, { batchSize: 4, shuffle: true, seed: 3, transforms: trainTransforms(32), concurrency }).epoch(0));
    const serial = await run(1);
    assert.deepEqual(serial.map((b) => b.shape), [[4, 3, 32, 32], [2, 3, 32, 32]]);
    const parallel = await run(6);
    assert.deepEqual(parallel.map((b) => Array.from(b.indices)), serial.map((b) => Array.from(b.indices)));
    parallel.forEach((batch, k) => assert.deepEqual(batch.images, serial[k]!.images));
    // Without transforms, differently sized images cannot share a batch: the error says which.
    await sharp({ create: { width: 9, height: 9, channels: 3, background: 'white' } }).png().toFile(path.join(root, 'dog', 'odd.png'));
    const mixed = await ImageFolder.open(root);
    await assert.rejects(collect(new DataLoader(mixed, { batchSize: 7 })), /example \d+ is 3x9x9 but example 0 is 3x40x50/);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('in-memory datasets take transforms too (grayscale kept with channels 1)', async () => {
  const { compose } = await import('../src/data/transforms.js');
  const loader = new DataLoader(tenImages(), {
    batchSize: 10,
    transforms: compose([Normalize([4.5], [2]), HWC2CHW()], { channels: 1 }),
  });
  const [batch] = await collect(loader);
  assert.deepEqual(batch!.shape, [10, 1, 2, 2]);
  assert.deepEqual(Array.from(batch!.images.subarray(36, 40)), [2.25, 2.25, 2.25, 2.25]);
  assert.throws(() => new DataLoader(tenImages(), { batchSize: 0 }), /batchSize must be a positive integer/);
  // Float images on the 0-255 scale become 8-bit HWC sources, clamped and rounded rather than wrapped.
  const floats = new InMemoryDataset({
    images: Float32Array.from([300, -5, 127.6, 1, 2, 3]), // one 3x1x2 image, CHW
    shape: [1, 3, 1, 2],
    labels: Int32Array.from([0]),
    classNames: ['x'],
  });
  const source = floats.sourceAt(0);
  assert.equal(source.kind, 'pixels');
  assert.deepEqual(Array.from((source as { data: Uint8Array }).data), [255, 128, 2, 0, 1, 3]);
});
