/**
 * `--model path.onnx` through the commands, the round trip export -> import, and the CLI's errors
 * for bad files and bad cuts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { readWeights } from '../src/io/weights.js';
import { createResNet } from '../src/models/registry.js';
import type { ResNet } from '../src/models/resnet.js';
import { seedInitializers } from '../src/nn/init.js';
import { importOnnx } from '../src/onnx-import/load.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { exportInferenceOnnx } from '../src/transfer/export.js';
import { runCli } from './helpers/cli.js';
import { writeTutorialImageFolder } from './helpers/tutorial-fixtures.js';

const { onnx } = onnxProto;
const SHAPE = [3, 32, 32];

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

async function logitsOf(net: Parameters<typeof InferenceRunner.create>[0], input: Float32Array, batch: number): Promise<Float32Array> {
  const runner = await InferenceRunner.create(net, SHAPE, { threads: 1 });
  try {
    return (await runner.run(input, batch)).data;
  } finally {
    await runner.release();
  }
}

interface PredictionRow {
  source: string;
  logits: number[];
}

describe('--model path.onnx', () => {
  let dir: string;
  let data: string;
  let model: string;
  let native: ResNet;
  const input = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.cos(i * 0.11));

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tlkit-onnx-cli-'));
    data = await writeTutorialImageFolder(path.join(dir, 'data'), { train: 4, val: 3, size: 40 });
    seedInitializers(5);
    native = createResNet('resnet18', { numClasses: 2, width: 4, smallInput: true, padMode: 'pad', weightInit: { kind: 'he-normal', mode: 'fan-out' } });
    native.eval();
    model = path.join(dir, 'tiny.onnx');
    writeFileSync(model, exportInferenceOnnx(native, { inputShape: SHAPE }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('round trip: a model tlkit exports imports back with identical predictions (and so does the import, exported again)', async () => {
    const imported = await importOnnx(model);
    const expected = await logitsOf(native, input, 2);
    assert.ok(maxDifference(await logitsOf(imported, input, 2), expected) <= 1e-6);
    const again = path.join(dir, 'again.onnx');
    writeFileSync(again, exportInferenceOnnx(imported, { inputShape: SHAPE }));
    assert.ok(maxDifference(await logitsOf(await importOnnx(again), input, 2), expected) <= 1e-6);
  });

  test('inspect lists the cut points with shapes and marks the default cut', async () => {
    const text = await runCli(['inspect', model]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /cut points/);
    assert.match(text.stdout, /\* default cut: the classifier's input 'flatten_\d+'/);
    const json = await runCli(['inspect', model, '--json']);
    const report = JSON.parse(json.stdout) as { onnxImport: { defaultCut: string; cuts: Array<{ tensor: string; shape: number[]; isDefault: boolean }> } };
    const cut = report.onnxImport.cuts.find((c) => c.isDefault)!;
    assert.equal(cut.tensor, report.onnxImport.defaultCut);
    assert.deepEqual(cut.shape, [1, 32]);
  });

  test('predict, eval and features take the .onnx file; train, eval --weights, export and predict agree on the trained model', async () => {
    const predicted = await runCli(['predict', '--model', model, path.join(data, 'val'), '--json']);
    assert.equal(predicted.code, 0, predicted.stderr);
    assert.equal((JSON.parse(predicted.stdout) as unknown[]).length, 6);
    const evaluated = await runCli(['eval', data, '--model', model, '--json']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.equal((JSON.parse(evaluated.stdout) as { images: number }).images, 6);
    const features = await runCli(['features', path.join(data, 'train'), '--model', model, '--out', path.join(dir, 'f.safetensors')]);
    assert.equal(features.code, 0, features.stderr);
    assert.match(features.stdout, /8 x 32 features/);

    const run = path.join(dir, 'run');
    const trained = await runCli(['train', data, '--model', model, '--epochs', '2', '--batch-size', '4', '--lr', '0.05', '--out', run, '--no-progress']);
    assert.equal(trained.code, 0, trained.stderr);
    const best = path.join(run, 'best.ckpt');
    const saved = await readWeights(best);
    assert.ok(saved.has('fc.weight'), 'the new head is saved as fc.*');
    const exported = path.join(dir, 'trained.onnx');
    const exportRun = await runCli(['export', best, '--model', model, '--out', exported]);
    assert.equal(exportRun.code, 0, exportRun.stderr);
    const viaCheckpoint = await runCli(['predict', '--model', model, '--weights', best, path.join(data, 'val'), '--json']);
    const viaExport = await runCli(['predict', '--model', exported, path.join(data, 'val'), '--json']);
    assert.equal(viaExport.code, 0, viaExport.stderr);
    const a = JSON.parse(viaCheckpoint.stdout) as PredictionRow[];
    const b = JSON.parse(viaExport.stdout) as PredictionRow[];
    a.forEach((row, i) => assert.ok(maxDifference(Float32Array.from(row.logits), Float32Array.from(b[i]!.logits)) <= 1e-5, row.source));
  });

  test('finetune --from-stage TENSOR trains from that tensor on; the earlier weights stay as the file has them', async () => {
    const imported = await importOnnx(model);
    const stages = imported.stages().map(([name]) => name);
    const from = stages[Math.floor(stages.length / 2)]!;
    const run = path.join(dir, 'finetune');
    const result = await runCli(['train', data, '--model', model, '--mode', 'finetune', '--from-stage', from, '--epochs', '1', '--batch-size', '4', '--lr', '0.05', '--out', run, '--no-progress']);
    assert.equal(result.code, 0, result.stderr);
    const saved = await readWeights(path.join(run, 'last.ckpt'));
    const at = imported.stages().findIndex(([name]) => name === from);
    const before = imported.stages().slice(0, at).flatMap(([, s]) => s.namedParameters().filter(([, p]) => p.kind === 'weight'));
    const afterCut = imported.stages().slice(at, -1).flatMap(([, s]) => s.namedParameters().filter(([, p]) => p.kind === 'weight'));
    assert.ok(before.length > 0 && afterCut.length > 0);
    for (const [name, p] of before) assert.deepEqual(saved.get(name)!.data, p.data, `${name} (before ${from}) is unchanged`);
    assert.ok(afterCut.some(([name, p]) => maxDifference(saved.get(name)!.data as Float32Array, p.data) > 0), `weights after ${from} were trained`);
  });

  test('a node with no backward rule in the trainable part: the error names it, its op and the --from-stage that keeps it frozen', async () => {
    const proto = onnx.ModelProto.decode(readFileSync(model));
    const graph = proto.graph!;
    const relu = graph.node!.findIndex((n) => n.opType === 'Relu');
    const reluOut = graph.node![relu]!.output![0]!;
    for (const n of graph.node!) n.input = n.input!.map((i) => (i === reluOut ? 'softsign_out' : i));
    graph.node!.splice(relu + 1, 0, onnx.NodeProto.create({ name: 'my_softsign', opType: 'Softsign', input: [reluOut], output: ['softsign_out'] }));
    const odd = path.join(dir, 'softsign.onnx');
    writeFileSync(odd, onnx.ModelProto.encode(proto).finish());
    const result = await runCli(['train', data, '--model', odd, '--mode', 'finetune', '--epochs', '1', '--batch-size', '4', '--out', path.join(dir, 'odd'), '--no-progress']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /node 'my_softsign' \(Softsign\) cannot be trained/);
    assert.match(result.stderr, /--from-stage 'softsign_out'/);
    const frozen = await runCli(['train', data, '--model', odd, '--mode', 'finetune', '--from-stage', 'softsign_out', '--epochs', '1', '--batch-size', '4', '--out', path.join(dir, 'odd2'), '--no-progress']);
    assert.equal(frozen.code, 0, frozen.stderr);
  });

  test('--mean/--std reach the transforms of an .onnx model; pipeline refuses an .onnx model with what to use instead', async () => {
    const val = path.join(data, 'val');
    const base = JSON.parse((await runCli(['predict', '--model', model, val, '--json'])).stdout) as PredictionRow[];
    const scaled = await runCli(['predict', '--model', model, val, '--json', '--mean', '0', '--std', '255']);
    assert.equal(scaled.code, 0, scaled.stderr);
    const rows = JSON.parse(scaled.stdout) as PredictionRow[];
    assert.ok(maxDifference(Float32Array.from(rows[0]!.logits), Float32Array.from(base[0]!.logits)) > 1e-4, 'other normalization, other logits');
    const pipeline = await runCli(['pipeline', '--model', model, '--out', path.join(dir, 'p')]);
    assert.notEqual(pipeline.code, 0);
    assert.ok(pipeline.stderr.includes(model) && pipeline.stderr.includes('tlkit train --model'), pipeline.stderr);
  });

  test('bad input exits non-zero naming the file: not ONNX, a --cut tensor that does not exist', async () => {
    const notOnnx = path.join(dir, 'photo.onnx');
    writeFileSync(notOnnx, 'GIF89a not a model');
    const a = await runCli(['predict', '--model', notOnnx, path.join(data, 'val')]);
    assert.notEqual(a.code, 0);
    assert.ok(a.stderr.includes(notOnnx) && a.stderr.includes('not an ONNX model'), a.stderr);
    const b = await runCli(['train', data, '--model', model, '--cut', 'no_such_tensor', '--epochs', '1', '--out', path.join(dir, 'x')]);
    assert.notEqual(b.code, 0);
    assert.ok(b.stderr.includes(model) && b.stderr.includes("--cut 'no_such_tensor'"), b.stderr);
  });
});
