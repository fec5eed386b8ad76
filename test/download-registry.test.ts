import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getPretrained, PRETRAINED, pretrainedNames, resolvePretrained } from '../src/models/pretrained.js';
import { DATASETS, fetchDataset, getDataset } from '../src/data/datasets-registry.js';
import { startTestServer, type TestServer } from './helpers/http-server.js';
import { buildZip } from './helpers/zip-builder.js';

let server: TestServer;
let scratch: string;

before(async () => {
  server = await startTestServer();
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'tlkit-registry-'));
});
after(async () => {
  await server.close();
  await fs.rm(scratch, { recursive: true, force: true });
});

test('the MindSpore entry is the tutorial checkpoint, with same-padding and the tutorial preprocessing', () => {
  const entry = getPretrained('resnet50-mindspore');
  assert.equal(entry.url, 'https://mindspore-website.obs.cn-north-4.myhuaweicloud.com/notebook/models/application/resnet50_224_new.ckpt');
  assert.equal(entry.filename, 'resnet50_224_new.ckpt');
  assert.equal(entry.format, 'ckpt');
  assert.equal(entry.paddingMode, 'same');
  assert.equal(entry.architecture, 'resnet50');
  assert.equal(entry.numClasses, 1000);
  const { preprocessing } = entry;
  assert.equal(preprocessing.inputSize, 224);
  assert.equal(preprocessing.resize, 256);
  assert.equal(preprocessing.crop, 224);
  const close = (actual: readonly number[], expected: number[]): void =>
    actual.forEach((value, index) => assert.ok(Math.abs(value - (expected[index] ?? NaN)) < 1e-9, `${value} vs ${expected[index]}`));
  close(preprocessing.mean, [123.675, 116.28, 103.53]);
  close(preprocessing.std, [58.395, 57.12, 57.375]);
});

test('torchvision and timm entries point at Hugging Face safetensors files and use symmetric padding', () => {
  const names = pretrainedNames();
  assert.equal(new Set(names).size, names.length, 'names are unique');
  for (const name of ['resnet18-torchvision', 'resnet34-torchvision', 'resnet50-torchvision', 'resnet18-timm', 'resnet50-timm']) {
    const entry = getPretrained(name);
    assert.equal(entry.format, 'safetensors', name);
    assert.equal(entry.paddingMode, 'pad', name);
    assert.match(entry.url, /^https:\/\/huggingface\.co\/timm\/resnet(18|34|50)\.(tv|a1)_in1k\/resolve\/main\/model\.safetensors$/, name);
    assert.ok(entry.url.includes(`/${entry.architecture}.`), `${name} url matches its architecture`);
    assert.ok(entry.filename.endsWith('.safetensors'));
  }
  assert.equal(getPretrained('resnet50-timm').url, 'https://huggingface.co/timm/resnet50.a1_in1k/resolve/main/model.safetensors');
  assert.equal(getPretrained('resnet18-torchvision').url, 'https://huggingface.co/timm/resnet18.tv_in1k/resolve/main/model.safetensors');
  // timm's a1 weights were evaluated with crop_pct 0.95 and bicubic resizing.
  assert.equal(getPretrained('resnet50-timm').preprocessing.resize, 235);
  assert.equal(getPretrained('resnet50-timm').preprocessing.interpolation, 'bicubic');
  const filenames = PRETRAINED.map((entry) => entry.filename);
  assert.equal(new Set(filenames).size, filenames.length, 'files can share one --dir');
});

test('an unknown name is refused with the list of known ones', () => {
  assert.throws(() => getPretrained('resnet51'), (error: unknown) => {
    assert.ok(error instanceof Error);
    for (const name of pretrainedNames()) assert.ok(error.message.includes(name), error.message);
    return true;
  });
  assert.throws(() => getDataset('mnist'), /unknown dataset "mnist"; known: canidae/);
});

test('resolvePretrained downloads once through the cache, then finds the file in place', async (t) => {
  const home = path.join(scratch, 'home');
  const saved = { home: process.env.TLKIT_HOME, mirror: process.env.TLKIT_MIRROR };
  process.env.TLKIT_HOME = home;
  process.env.TLKIT_MIRROR = server.origin;
  t.after(() => {
    for (const [key, value] of [['TLKIT_HOME', saved.home], ['TLKIT_MIRROR', saved.mirror]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  const weights = randomBytes(50_000);
  server.setRoute('/timm/resnet18.tv_in1k/resolve/main/model.safetensors', { body: weights });
  const first = await resolvePretrained('resnet18-torchvision', { progress: false, retryDelayMs: 1 });
  assert.equal(first.entry.name, 'resnet18-torchvision');
  assert.equal(first.downloaded, true);
  assert.equal(first.path, path.join(home, 'downloads', 'huggingface.co', 'timm', 'resnet18.tv_in1k', 'resolve', 'main', 'model.safetensors'));
  assert.deepEqual(await fs.readFile(first.path), weights);
  const second = await resolvePretrained('resnet18-torchvision', { progress: false });
  assert.equal(second.downloaded, false);
  assert.equal(second.path, first.path);
  assert.equal(server.requestsFor('/timm/resnet18.tv_in1k/resolve/main/model.safetensors').length, 1);
});

test('fetchDataset returns the split folders and refuses an archive without them', async () => {
  const home = path.join(scratch, 'home-datasets');
  const saved = process.env.TLKIT_HOME;
  process.env.TLKIT_HOME = home;
  try {
    server.setRoute('/good.zip', {
      body: buildZip([
        { name: 'data/Canidae/train/dogs/a.jpg', data: Buffer.from('a') },
        { name: 'data/Canidae/val/wolves/b.jpg', data: Buffer.from('b') },
      ]),
    });
    const parent = path.join(scratch, 'datasets');
    const fetched = await fetchDataset('canidae', { url: `${server.origin}/good.zip`, parentDir: parent, progress: false });
    assert.equal(fetched.dir, path.join(parent, 'datasets-Canidae'));
    assert.equal(fetched.splits.train, path.join(parent, 'datasets-Canidae', 'data', 'Canidae', 'train'));
    assert.equal(await fs.readFile(path.join(fetched.splits.val ?? '', 'wolves', 'b.jpg'), 'utf8'), 'b');

    server.setRoute('/other.zip', { body: buildZip([{ name: 'something/else.txt', data: Buffer.from('x') }]) });
    await assert.rejects(
      fetchDataset('canidae', { url: `${server.origin}/other.zip`, parentDir: path.join(scratch, 'other'), progress: false }),
      /holds no train folder data\/Canidae\/train; is it the canidae archive\?/,
    );
  } finally {
    if (saved === undefined) delete process.env.TLKIT_HOME;
    else process.env.TLKIT_HOME = saved;
  }
  assert.equal(DATASETS[0]?.url, 'https://mindspore-website.obs.cn-north-4.myhuaweicloud.com/notebook/datasets/intermediate/Canidae_data.zip');
});
