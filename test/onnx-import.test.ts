/**
 * Importing ONNX classifiers: real files written by other people (fixtures/real/onnx, and the
 * unlicensed shared ones when present), external data, cut points, and the errors bad files get.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { createResNet } from '../src/models/registry.js';
import { seedInitializers } from '../src/nn/init.js';
import { importOnnx } from '../src/onnx-import/load.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { Session } from '../src/runtime/session.js';
import { exportInferenceOnnx } from '../src/transfer/export.js';
import { repoRoot } from './helpers/cli.js';

const { onnx } = onnxProto;
const LIGHT_RESNET50 = path.join(repoRoot, 'fixtures/real/onnx/onnx__light_resnet50.onnx');
const SHARED_RESNET20 = '/work/shared/fixtures/real/onnx/Amandashi95_onnc__resnet20.onnx';

function sampleInput(count: number, seed = 1): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37 + seed) * 1.5);
}

/** ORT on the file exactly as written, one sample at a time (these files fix the batch at 1). */
async function ortOnUnmodifiedFile(file: string, input: Float32Array, batch: number, sampleShape: number[]): Promise<Float32Array[]> {
  const session = await Session.create(readFileSync(file), { threads: 1 });
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const rows: Float32Array[] = [];
  try {
    for (let b = 0; b < batch; b++) {
      const out = await session.run({ [session.inputNames[0]!]: { data: input.slice(b * per, (b + 1) * per), shape: [1, ...sampleShape] } });
      rows.push(out[session.outputNames[0]!]!.data as Float32Array);
    }
  } finally {
    await session.release();
  }
  return rows;
}

async function assertPredictionsEqualOrt(file: string, expectedCut: string, expectedFeatures: number): Promise<void> {
  const net = await importOnnx(file);
  assert.equal(net.cut, expectedCut);
  assert.equal(net.featureChannels, expectedFeatures);
  const per = net.inputShape.reduce((a, b) => a * b, 1);
  const input = sampleInput(3 * per);
  const runner = await InferenceRunner.create(net, net.inputShape, { threads: 1 });
  try {
    const out = await runner.run(input, 3);
    const reference = await ortOnUnmodifiedFile(file, input, 3, net.inputShape);
    assert.equal(out.shape[0], 3, 'the static batch of 1 was made dynamic');
    const classes = reference[0]!.length;
    for (let b = 0; b < 3; b++) {
      const ours = out.data.subarray(b * classes, (b + 1) * classes);
      const worst = Math.max(...Array.from(ours, (v, i) => Math.abs(v - reference[b]![i]!)));
      assert.ok(worst <= 1e-5 * Math.max(1, ...Array.from(reference[b]!, Math.abs)), `${file} sample ${b}: tlkit differs from ORT by ${worst}`);
    }
  } finally {
    await runner.release();
  }
}

test('onnx/onnx light_resnet50 (caffe2 export, opset 9): batched predictions equal ORT on the unmodified file', async () => {
  await assertPredictionsEqualOrt(LIGHT_RESNET50, 'r173', 2048);
});

test('onnc resnet20 (PyTorch 1.6 export, opset 9, Shape/Gather flatten): predictions equal ORT on the unmodified file', { skip: existsSync(SHARED_RESNET20) ? false : `${SHARED_RESNET20} is not present (unlicensed, not copied into the project)` }, async () => {
  await assertPredictionsEqualOrt(SHARED_RESNET20, '207', 64);
  const net = await importOnnx(SHARED_RESNET20, { cut: '199', numClasses: 3 });
  assert.deepEqual(net.cuts.find((c) => c.tensor === '199')?.shape, [1, 64, 1, 1]);
  assert.equal(net.featureChannels, 64);
});

describe('models written by tlkit', () => {
  let dir: string;
  let model: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tlkit-onnx-import-'));
    seedInitializers(3);
    const net = createResNet('resnet18', { numClasses: 4, inChannels: 3, width: 4, smallInput: true });
    net.eval();
    model = path.join(dir, 'tiny.onnx');
    writeFileSync(model, exportInferenceOnnx(net, { inputShape: [3, 16, 16] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('external data beside the model is followed; a missing data file is named', async () => {
    const proto = onnx.ModelProto.decode(readFileSync(model));
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const t of proto.graph!.initializer!) {
      if (!t.rawData || t.rawData.length < 64) continue;
      chunks.push(Uint8Array.from(t.rawData));
      t.externalData = [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(t.rawData.length) }];
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      offset += t.rawData.length;
      t.rawData = new Uint8Array(0);
    }
    assert.ok(chunks.length > 10);
    const external = path.join(dir, 'external.onnx');
    writeFileSync(external, onnx.ModelProto.encode(proto).finish());
    writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(chunks));
    const a = await importOnnx(model);
    const b = await importOnnx(external);
    const input = sampleInput(2 * 3 * 16 * 16);
    const [ra, rb] = await Promise.all([InferenceRunner.create(a, a.inputShape), InferenceRunner.create(b, b.inputShape)]);
    assert.deepEqual((await rb.run(input, 2)).data, (await ra.run(input, 2)).data);
    await ra.release();
    await rb.release();
    rmSync(path.join(dir, 'weights.bin'));
    await assert.rejects(importOnnx(external), (e: Error) => e.message.includes(external) && e.message.includes('weights.bin'));
  });

  test('preprocessing: the user\'s, else the file\'s metadata (tlkit\'s 0-255 keys, or 0-1 mean/std as torchvision writes them), else ImageNet\'s', async () => {
    assert.equal((await importOnnx(model)).preprocessing.source, 'default');
    const proto = onnx.ModelProto.decode(readFileSync(model));
    proto.metadataProps = [{ key: 'image_mean', value: '[0.5, 0.25, 0.125]' }, { key: 'image_std', value: '0.5,0.5,0.5' }];
    const withMetadata = path.join(dir, 'metadata.onnx');
    writeFileSync(withMetadata, onnx.ModelProto.encode(proto).finish());
    const fromMetadata = (await importOnnx(withMetadata)).preprocessing;
    assert.equal(fromMetadata.source, 'metadata');
    assert.deepEqual(fromMetadata.mean, [127.5, 63.75, 31.875]);
    assert.deepEqual(fromMetadata.std, [127.5, 127.5, 127.5]);
    assert.equal(fromMetadata.imageSize, 16);
    const fromUser = (await importOnnx(withMetadata, { mean: [1, 2, 3], std: [4, 5, 6] })).preprocessing;
    assert.deepEqual([fromUser.source, fromUser.mean, fromUser.std], ['user', [1, 2, 3], [4, 5, 6]]);
    const exported = path.join(dir, 'exported.onnx');
    const imported = await importOnnx(withMetadata);
    writeFileSync(exported, exportInferenceOnnx(imported, { inputShape: imported.inputShape, normalization: imported.preprocessing }));
    const again = (await importOnnx(exported)).preprocessing;
    assert.deepEqual([again.source, again.mean, again.std, again.imageSize], ['metadata', fromMetadata.mean, fromMetadata.std, 16]);
  });

  test('cut points follow the blocks; --cut at a feature map pools it; stages are named by the tensor they read', async () => {
    const net = await importOnnx(model, { numClasses: 2 });
    assert.equal(net.featureChannels, 32);
    assert.deepEqual(net.cuts[0]!.shape, [1, 3, 16, 16]);
    const mid = net.cuts.find((c) => c.shape.length === 4 && c.shape[1] === 16)!;
    const cutNet = await importOnnx(model, { cut: mid.tensor, numClasses: 2 });
    assert.equal(cutNet.featureChannels, 16);
    const names = cutNet.stages().map(([n]) => n);
    assert.deepEqual(names.slice(-3), ['pool', 'flatten', 'fc']);
    assert.equal(names[0], 'input');
    const runner = await InferenceRunner.create(cutNet, cutNet.inputShape);
    assert.deepEqual((await runner.run(sampleInput(3 * 16 * 16), 1)).shape, [1, 2]);
    await runner.release();
  });
});

describe('bad input', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tlkit-onnx-bad-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, bytes: Uint8Array | string) => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };
  const light = () => onnx.ModelProto.decode(readFileSync(LIGHT_RESNET50));

  test('not an ONNX file', async () => {
    const file = write('notes.onnx', 'these are my notes, not a model\n');
    await assert.rejects(importOnnx(file), (e: Error) => e.message.startsWith(file) && /not an ONNX model/.test(e.message));
  });

  test('a truncated file', async () => {
    const bytes = readFileSync(LIGHT_RESNET50);
    const file = write('truncated.onnx', bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await assert.rejects(importOnnx(file), (e: Error) => e.message.startsWith(file) && /truncated/.test(e.message));
  });

  test('an opset ORT cannot run', async () => {
    const model = light();
    model.opsetImport = [{ domain: '', version: 999 }];
    const file = write('future.onnx', onnx.ModelProto.encode(model).finish());
    await assert.rejects(importOnnx(file), (e: Error) => e.message.startsWith(file) && /ONNX Runtime cannot load/.test(e.message) && /ai\.onnx 999/.test(e.message));
  });

  test('no classifier to cut and no --cut: the error lists the cut points', async () => {
    const model = light();
    const graph = model.graph!;
    graph.node = graph.node!.filter((n) => !['Reshape', 'Gemm', 'Softmax'].includes(n.opType ?? ''));
    graph.output = [onnx.ValueInfoProto.create({ name: 'r172', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 2048 }, { dimValue: 1 }, { dimValue: 1 }] } } } })];
    const file = write('headless.onnx', onnx.ModelProto.encode(model).finish());
    await assert.rejects(importOnnx(file), (e: Error) => e.message.startsWith(file) && /no classifier to cut/.test(e.message) && /--cut/.test(e.message) && e.message.includes("'r172' [1, 2048, 1, 1]"));
    const net = await importOnnx(file, { cut: 'r172', numClasses: 2 });
    assert.equal(net.featureChannels, 2048);
  });

  test('a --cut tensor that does not exist, and one that is not a cut point', async () => {
    await assert.rejects(importOnnx(LIGHT_RESNET50, { cut: 'no_such_tensor' }), (e: Error) => e.message.startsWith(LIGHT_RESNET50) && /no tensor of that name/.test(e.message));
    // Inside a residual block the shortcut is still live: not a place to cut.
    await assert.rejects(importOnnx(LIGHT_RESNET50, { cut: 'r5' }), (e: Error) => /is not a cut point/.test(e.message));
  });
});
