/**
 * padMode 'same' follows TensorFlow/MindSpore: pad_total = max((ceil(n/s)-1)*s + k - n, 0),
 * floor(total/2) before, the odd pixel after (bottom/right). References are PyTorch's conv and
 * max pool on an explicitly, asymmetrically padded input (fixtures/parity/same_padding.json).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../src/graph/graph.js';
import { gradients } from '../src/graph/autodiff.js';
import { serializeGraph } from '../src/graph/onnx.js';
import { samePadding } from '../src/graph/ops/conv.js';
import { TrainingContext } from '../src/nn/context.js';
import { Conv2d, resolvePads } from '../src/nn/layers/conv2d.js';
import { MaxPool2d } from '../src/nn/layers/pool.js';
import type { Module } from '../src/nn/module.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { Session, float32Output } from '../src/runtime/session.js';
import { ErrorLog, formulaTensor, maxErrorOnScale, readParityFixture, type SamePaddingCase } from './helpers/parity.js';

const TOLERANCE = 1e-5;
const fixture = readParityFixture<{ cases: SamePaddingCase[] }>('same_padding.json');
const errors = new ErrorLog();

function label(c: SamePaddingCase): string {
  return `${c.height}x${c.width} k${c.kernel} s${c.stride}`;
}

function convFor(c: SamePaddingCase): Conv2d {
  const conv = new Conv2d(c.inputShape[1]!, c.weightShape[0]!, c.kernel, { stride: c.stride, padMode: 'same', weightInit: { kind: 'constant', value: 0 } });
  conv.weight.data = formulaTensor(c.weightShape, c.weight);
  return conv;
}

async function inferenceOutput(module: Module, c: SamePaddingCase): Promise<{ data: Float32Array; shape: number[] }> {
  const runner = await InferenceRunner.create(module, c.inputShape.slice(1), { threads: 1 });
  try {
    return await runner.run(formulaTensor(c.inputShape, c.input), c.inputShape[0]!);
  } finally {
    await runner.release();
  }
}

/** Gradients of sum(module(x) * R) for the input (and the weight, for a conv), from the module's training-mode graph. */
async function gradientsOf(module: Module, c: SamePaddingCase, outputShape: number[]): Promise<{ input: Float32Array; weight?: Float32Array }> {
  const g = new Graph();
  const ctx = new TrainingContext(g, () => false);
  module.parameters();
  const x = g.input('x', c.inputShape, 'float32', { requiresGrad: true });
  const y = module.forward(ctx, x);
  assert.deepEqual(y.shape, outputShape);
  const wrt = [x, ...ctx.trainable.map((t) => t.value)];
  const grads = gradients(g, y, wrt, g.constant([...formulaTensor(outputShape, c.upstream)], outputShape));
  grads.forEach((grad, i) => g.output(grad, `grad_${i}`));
  const session = await Session.create(serializeGraph(g), { threads: 1 });
  try {
    const feeds = Object.fromEntries([['x', { data: formulaTensor(c.inputShape, c.input), shape: c.inputShape }],
      ...ctx.trainable.map((t) => [t.value.name, { data: t.parameter.data, shape: t.parameter.shape }])]);
    const out = await session.run(feeds);
    return { input: float32Output(out, 'grad_0'), weight: ctx.trainable.length > 0 ? float32Output(out, 'grad_1') : undefined };
  } finally {
    await session.release();
  }
}

test('the fixture covers odd and even sizes, kernels 1, 3, 7 and strides 1, 2', () => {
  const has = (f: (c: SamePaddingCase) => boolean) => fixture.cases.some(f);
  for (const k of [1, 3, 7]) for (const s of [1, 2]) assert.ok(has((c) => c.kernel === k && c.stride === s), `k${k} s${s}`);
  assert.ok(has((c) => c.height % 2 === 1 && c.stride === 2 && c.kernel > 1), 'odd size with stride 2');
  assert.ok(has((c) => c.height % 2 === 0 && c.stride === 2 && c.kernel > 1), 'even size with stride 2');
  assert.ok(has((c) => c.pads.bottom > c.pads.top), 'a case with the extra pixel at the bottom');
  assert.ok(has((c) => c.height !== c.width), 'a non-square input');
});

test("tlkit's 'same' pads are the TensorFlow/MindSpore rule the reference used", () => {
  for (const c of fixture.cases) {
    assert.deepEqual(samePadding(c.height, c.kernel, c.stride), [c.pads.top, c.pads.bottom], label(c));
    assert.deepEqual(resolvePads('same', 0, c.height, c.width, c.kernel, c.stride), [c.pads.top, c.pads.left, c.pads.bottom, c.pads.right], label(c));
  }
});

test("Conv2d padMode 'same': output, input gradient and weight gradient match PyTorch with explicit asymmetric pads", async () => {
  for (const c of fixture.cases) {
    const conv = convFor(c);
    const out = await inferenceOutput(conv, c);
    assert.deepEqual(out.shape, c.conv.shape, `${label(c)}: output shape`);
    const forward = errors.note('conv output', maxErrorOnScale(out.data, c.conv.output), label(c));
    assert.ok(forward <= TOLERANCE, `${label(c)}: conv output differs by ${forward} of its scale`);
    const grads = await gradientsOf(conv, c, c.conv.shape);
    const dx = errors.note('conv input gradient', maxErrorOnScale(grads.input, c.conv.inputGrad), label(c));
    assert.ok(dx <= TOLERANCE, `${label(c)}: conv input gradient differs by ${dx} of its scale`);
    const dw = errors.note('conv weight gradient', maxErrorOnScale(grads.weight!, c.conv.weightGrad), label(c));
    assert.ok(dw <= TOLERANCE, `${label(c)}: conv weight gradient differs by ${dw} of its scale`);
  }
});

test("MaxPool2d padMode 'same': output and input gradient match PyTorch with -inf asymmetric pads", async () => {
  for (const c of fixture.cases) {
    const pool = new MaxPool2d(c.kernel, { stride: c.stride, padMode: 'same' });
    const out = await inferenceOutput(pool, c);
    assert.deepEqual(out.shape, c.maxPool.shape, `${label(c)}: output shape`);
    const forward = errors.note('max pool output', maxErrorOnScale(out.data, c.maxPool.output), label(c));
    assert.ok(forward <= TOLERANCE, `${label(c)}: max pool output differs by ${forward} of its scale`);
    const grads = await gradientsOf(pool, c, c.maxPool.shape);
    const dx = errors.note('max pool input gradient', maxErrorOnScale(grads.input, c.maxPool.inputGrad), label(c));
    assert.ok(dx <= TOLERANCE, `${label(c)}: max pool input gradient differs by ${dx} of its scale`);
  }
  console.log(`'same' padding, worst errors:\n${errors.summary()}`);
});
