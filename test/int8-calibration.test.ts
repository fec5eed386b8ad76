/** Int8 calibration inside ORT, and one calibration per graph and sample within a run (runtime/int8.ts's Int8Builds). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { createResNet } from '../src/models/registry.js';
import { seedInitializers } from '../src/nn/init.js';
import { activationTensors, foldBatchNorms } from '../src/graph/quantize.js';
import { toModelProto } from '../src/graph/onnx.js';
import { inferenceGraphOf } from '../src/runtime/inference.js';
import { buildInt8Model, calibrateRanges, Int8Builds, type ImageSample, type Int8Report } from '../src/runtime/int8.js';
import { Session } from '../src/runtime/session.js';
import { stagesOf } from '../src/runtime/stages.js';
import { mulberry32 } from '../src/data/random.js';

const { onnx } = onnxProto;
const SHAPE = [3, 32, 32] as const;

function smallNet() {
  seedInitializers(3);
  const net = createResNet('resnet18', { numClasses: 4, width: 8, smallInput: true });
  net.eval();
  net.nameParameters();
  return net;
}

/** Seeded random images in two batches, as an ImageSample. */
function randomSample(key: string, count: number, seed: number): ImageSample {
  const per = SHAPE[0] * SHAPE[1] * SHAPE[2];
  return {
    count, description: `${count} random images`, key,
    async *batches() {
      const random = mulberry32(seed);
      for (let start = 0; start < count; start += 5) {
        const n = Math.min(5, count - start);
        yield { images: Float32Array.from({ length: n * per }, () => 4 * random.next() - 2), count: n };
      }
    },
  };
}

test('calibration reduces each activation to its min and max inside ORT: the ranges of the tensors themselves', async () => {
  const { model: folded } = foldBatchNorms(toModelProto(inferenceGraphOf(smallNet(), SHAPE), 'inference'));
  const sample = randomSample('a', 12, 1);
  const ranges = await calibrateRanges(folded, SHAPE, sample);
  // The reference: every calibrated tensor as a graph output, scanned here.
  const tensors = activationTensors(folded);
  assert.ok(tensors.length > 20, `${tensors.length} tensors`);
  const withAll = onnx.ModelProto.decode(onnx.ModelProto.encode(folded).finish());
  const inputName = withAll.graph!.input![0]!.name!;
  for (const name of tensors) if (name !== inputName) withAll.graph!.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  const session = await Session.create(onnx.ModelProto.encode(withAll).finish());
  const expected = new Map(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  try {
    for await (const { images, count } of sample.batches()) {
      const outputs = await session.run({ [inputName]: { data: images, shape: [count, ...SHAPE] } });
      for (const name of tensors) {
        const data = name === inputName ? images : (outputs[name]!.data as Float32Array);
        const range = expected.get(name)!;
        for (const v of data) {
          range.min = Math.min(range.min, v);
          range.max = Math.max(range.max, v);
        }
      }
    }
  } finally {
    await session.release();
  }
  assert.deepEqual([...ranges.keys()], tensors);
  const producer = new Map(folded.graph!.node!.flatMap((n) => n.output!.map((o) => [o, n.opType] as const)));
  let differs = 0;
  let reluOutputs = 0;
  for (const name of tensors) {
    const got = ranges.get(name)!;
    const want = { ...expected.get(name)! };
    if (producer.get(name) === 'Relu') {
      // Only the maximum is measured; the minimum of a ReLU's output is 0 (it is >= 0, and ranges include 0).
      assert.ok(want.min >= 0, `${name} min ${want.min}`);
      assert.equal(got.min, 0, name);
      want.min = 0;
      reluOutputs++;
    }
    assert.ok(Number.isFinite(got.min) && Number.isFinite(got.max) && got.min <= got.max, `${name}: [${got.min}, ${got.max}]`);
    // ORT may fuse the probe's convs differently from the reference graph's: equal to float32 rounding.
    const tolerance = 1e-5 * Math.max(1, Math.abs(want.min), Math.abs(want.max));
    if (got.min !== want.min || got.max !== want.max) differs++;
    assert.ok(Math.abs(got.min - want.min) <= tolerance && Math.abs(got.max - want.max) <= tolerance, `${name}: [${got.min}, ${got.max}] vs [${want.min}, ${want.max}]`);
  }
  assert.ok(reluOutputs > 10 && reluOutputs < tensors.length, `${reluOutputs} ReLU outputs of ${tensors.length}`);
  process.stdout.write(`# ${tensors.length} calibrated tensors (${reluOutputs} ReLU outputs), ${differs} differ from the scanned ranges by float32 rounding\n`);
});

test('Int8Builds: a graph built twice in a run with the same samples is calibrated and measured once; another graph or sample is built anew', async () => {
  const net = smallNet();
  const stages = stagesOf(net);
  const backbone = toModelProto(inferenceGraphOf(stages.slice(0, stages.length - 1), SHAPE), 'inference');
  const builds = new Int8Builds();
  const reports: Int8Report[] = [];
  const options = { calibration: randomSample('cal', 10, 1), heldOut: randomSample('held', 5, 2), cacheDir: null, builds, onReport: (r: Int8Report) => reports.push(r) };
  const first = await buildInt8Model(backbone, SHAPE, options);
  // The same graph again, as a fresh ModelProto (the final evaluation rebuilds it from the network).
  const again = await buildInt8Model(toModelProto(inferenceGraphOf(stages.slice(0, stages.length - 1), SHAPE), 'inference'), SHAPE, { ...options });
  assert.equal(again.bytes, first.bytes);
  assert.equal(again.report, first.report);
  assert.deepEqual(builds.work, { calibrations: 1, cacheHits: 0, agreements: 1, agreementsCached: 0, reused: 1 });
  assert.equal(reports.length, 1, 'one report: the reused build is not reported again');
  assert.ok(first.report.agreement && first.report.agreement.images === 5);

  await buildInt8Model(toModelProto(inferenceGraphOf(net, SHAPE), 'inference'), SHAPE, options); // the whole network: another graph
  await buildInt8Model(backbone, SHAPE, { ...options, calibration: randomSample('cal-2', 10, 3) }); // another sample
  await buildInt8Model(backbone, SHAPE, { ...options, activations: 'int8' }); // another activation type
  assert.deepEqual(builds.work, { calibrations: 4, cacheHits: 0, agreements: 4, agreementsCached: 0, reused: 1 });
  assert.equal(reports.length, 4);
});

test('MaxPool has an Indices output only where a gradient flows back, and the int8 graph pools the quantized tensor', async () => {
  const { Graph } = await import('../src/graph/graph.js');
  const { maxPool2d } = await import('../src/graph/ops/pool.js');
  const options = { kernel: 3, stride: 2, pads: [1, 1, 1, 1] as [number, number, number, number] };
  for (const requiresGrad of [false, true]) {
    const g = new Graph();
    maxPool2d(g, g.input('x', [2, 4, 8, 8], 'float32', { requiresGrad }), options);
    const pools = g.nodes.filter((n) => n.opType === 'MaxPool');
    assert.equal(pools.length, 1);
    assert.equal(pools[0]!.outputs.length, requiresGrad ? 2 : 1, requiresGrad ? 'the backward scatters through Indices' : 'no gradient: no Indices');
  }
  // ResNet's stem (conv, BN, ReLU, max pool) at a size that keeps the pool: with Indices, ORT ran the pool in
  // float32 between a DequantizeLinear and a QuantizeLinear (48 ms of a 250 ms ResNet-50 run).
  seedInitializers(5);
  const net = createResNet('resnet18', { numClasses: 4, width: 8 });
  net.eval();
  net.nameParameters();
  const shape = [3, 64, 64];
  const graph = toModelProto(inferenceGraphOf(net, shape), 'inference');
  const sample: ImageSample = { ...randomSample('stem', 5, 2), async *batches() {
    const random = mulberry32(2);
    yield { images: Float32Array.from({ length: 5 * 3 * 64 * 64 }, () => 4 * random.next() - 2), count: 5 };
  } };
  const { bytes } = await buildInt8Model(graph, shape, { calibration: sample, cacheDir: null });
  const { mkdtemp, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'tlkit-maxpool-'));
  try {
    const file = path.join(dir, 'optimized.onnx');
    await (await Session.create(bytes, { optimizedModelPath: file, quiet: true })).release();
    const optimized = onnx.ModelProto.decode(await readFile(file));
    const producers = new Map(optimized.graph!.node!.flatMap((n) => n.output!.map((o) => [o, n.opType!] as const)));
    const pools = optimized.graph!.node!.filter((n) => /MaxPool/.test(n.opType ?? ''));
    assert.ok(pools.length > 0, 'the stem pool is in the graph');
    for (const pool of pools) assert.notEqual(producers.get(pool.input![0]!), 'DequantizeLinear', `${pool.opType} reads a dequantized float tensor`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
