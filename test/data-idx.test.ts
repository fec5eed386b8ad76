import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx, readIdx } from '../src/data/idx.js';
import { FASHION_MNIST_CLASSES, loadFashionMnist, shippedFashionMnistDir, SYSTEM_FASHION_MNIST_DIR } from '../src/data/fashion-mnist.js';

test('shipped Fashion-MNIST test split: 10000 images of 28x28, 1000 per class', async () => {
  const images = await readIdx(path.join(shippedFashionMnistDir(), 't10k-images-idx3-ubyte.gz'));
  assert.equal(images.dtype, 'uint8');
  assert.deepEqual(images.shape, [10000, 28, 28]);
  const dataset = await loadFashionMnist({ split: 'test' });
  assert.equal(dataset.length, 10000);
  assert.deepEqual(dataset.shape, [10000, 1, 28, 28]);
  assert.deepEqual(dataset.classNames, FASHION_MNIST_CLASSES);
  const histogram = new Array<number>(10).fill(0);
  for (let i = 0; i < dataset.length; i++) histogram[dataset.labelAt(i)]!++;
  assert.deepEqual(histogram, new Array<number>(10).fill(1000));
  const sample = await dataset.get(0);
  assert.deepEqual(sample.shape, [1, 28, 28]);
  assert.ok(sample.image.some((v) => v > 0) && sample.image.every((v) => v >= 0 && v <= 255));
});

test('IDX round trip for multi-byte types, raw and gzip', () => {
  const array = { dtype: 'int16' as const, shape: [2, 3], data: Int16Array.from([-2, 0, 1, 300, -32768, 32767]) };
  const raw = encodeIdx(array);
  assert.deepEqual(parseIdx(raw), array);
  assert.deepEqual(parseIdx(gzipSync(raw)), array);
  const floats = { dtype: 'float32' as const, shape: [3], data: Float32Array.from([1.5, -2.25, 1e-3]) };
  assert.deepEqual(parseIdx(encodeIdx(floats)), floats);
});

test('IDX errors name the file and the problem', () => {
  const good = encodeIdx({ dtype: 'uint8', shape: [4, 2], data: new Uint8Array(8) });
  const badMagic = Uint8Array.from(good);
  badMagic[2] = 0x42;
  assert.throws(() => parseIdx(badMagic, 'x.idx'), /x\.idx: bad IDX magic 00 00 42 02/);
  assert.throws(() => parseIdx(good.subarray(0, good.length - 3), 'x.idx'), /x\.idx: truncated IDX data: shape \[4, 2\].*needs 20 bytes, file has 17/);
  assert.throws(() => parseIdx(good.subarray(0, 6), 'x.idx'), /truncated IDX header/);
  assert.throws(() => parseIdx(Uint8Array.from([...good, 0]), 'x.idx'), /1 unexpected bytes after/);
  const gz = gzipSync(good);
  assert.throws(() => parseIdx(gz.subarray(0, gz.length - 10), 'x.gz'), /x\.gz: corrupt or truncated gzip data/);
});

test('loadFashionMnist reports images and labels of different counts', async () => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-idx-'));
  try {
    await fs.writeFile(path.join(dir, 't10k-images-idx3-ubyte'), encodeIdx({ dtype: 'uint8', shape: [3, 2, 2], data: new Uint8Array(12) }));
    await fs.writeFile(path.join(dir, 't10k-labels-idx1-ubyte'), encodeIdx({ dtype: 'uint8', shape: [2], data: new Uint8Array(2) }));
    await assert.rejects(loadFashionMnist({ split: 'test', directory: dir }), /has 3 images but .*t10k-labels-idx1-ubyte has 2 labels/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('Fashion-MNIST train split from Debian\'s dataset-fashion-mnist: 60000 images, 6000 per class', {
  skip: existsSync(path.join(SYSTEM_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz')) ? false : 'dataset-fashion-mnist not installed',
}, async () => {
  const train = await loadFashionMnist({ split: 'train' });
  assert.deepEqual(train.shape, [60000, 1, 28, 28]);
  const histogram = new Array<number>(10).fill(0);
  for (let i = 0; i < train.length; i++) histogram[train.labelAt(i)]!++;
  assert.deepEqual(histogram, new Array<number>(10).fill(6000));
});
