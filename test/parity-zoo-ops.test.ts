/** The new ops against PyTorch (float64, fixtures/parity/zoo_ops.json): outputs and the gradients of sum(y * R). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../src/graph/graph.js';
import type { SymbolicTensor } from '../src/graph/ir.js';
import { gradients } from '../src/graph/autodiff.js';
import { serializeGraph } from '../src/graph/onnx.js';
import { gelu, hardsigmoid, hardswish, relu6, sigmoid, silu } from '../src/graph/ops/activations.js';
import { groupedConv2d } from '../src/graph/ops/grouped-conv.js';
import { layerNorm } from '../src/graph/ops/layer-norm.js';
import { Session } from '../src/runtime/session.js';
import { nchwcBlockSize } from '../src/runtime/nchwc.js';
import { formulaTensor, maxErrorOnScale, readParityFixture, type FormulaSpec } from './helpers/parity.js';

interface OpCase {
  op: string;
  inputShape: number[];
  input: FormulaSpec;
  upstream: FormulaSpec;
  output: number[];
  inputGrad: number[];
  kernel?: number;
  stride?: number;
  pads?: number;
  outputShape?: number[];
  weight?: FormulaSpec;
  bias?: FormulaSpec;
  weightGrad?: number[];
  biasGrad?: number[];
  axis?: number;
  eps?: number;
}

const ACTIVATIONS: Record<string, (g: Graph, x: SymbolicTensor) => SymbolicTensor> = { relu6, hardswish, hardsigmoid, sigmoid, silu, gelu };
const TOLERANCE = 1e-5;

/** `nchwcBlock` > 0: depthwise convs on ORT's NCHWc kernels, as training steps on the CPU run them. */
async function evaluate(c: OpCase, nchwcBlock = 0) {
  const g = new Graph();
  g.nchwcBlock = nchwcBlock;
  const x = g.input('x', c.inputShape, 'float32', { requiresGrad: true });
  const feeds: Record<string, { data: Float32Array; shape: number[] }> = { x: { data: formulaTensor(c.inputShape, c.input), shape: c.inputShape } };
  const extra: SymbolicTensor[] = [];
  const param = (name: string, shape: number[], spec: FormulaSpec) => {
    feeds[name] = { data: formulaTensor(shape, spec), shape };
    const t = g.input(name, shape, 'float32', { requiresGrad: true });
    extra.push(t);
    return t;
  };
  let y: SymbolicTensor;
  if (c.op === 'depthwise') {
    const channels = c.inputShape[1]!;
    const w = param('w', [channels, 1, c.kernel!, c.kernel!], c.weight!);
    y = groupedConv2d(g, x, w, { stride: c.stride!, pads: [c.pads!, c.pads!, c.pads!, c.pads!], groups: channels });
  } else if (c.op === 'layer_norm') {
    const size = c.inputShape[c.axis!]!;
    y = layerNorm(g, x, param('w', [size], c.weight!), param('b', [size], c.bias!), c.eps!, c.axis!);
  } else {
    y = ACTIVATIONS[c.op]!(g, x);
  }
  const upstream = g.constant(Array.from(formulaTensor(y.shape, c.upstream)), y.shape);
  const grads = gradients(g, y, [x, ...extra], upstream);
  g.output(y, 'y');
  grads.forEach((grad, i) => g.output(grad, `grad${i}`));
  if (nchwcBlock > 0) assert.equal(g.nodes.filter((n) => n.domain === 'com.microsoft.nchwc' && n.opType === 'Conv').length, 3, 'forward, dX and dW on the blocked kernels');
  const session = await Session.create(serializeGraph(g), { threads: 1 });
  try {
    const out = await session.run(feeds);
    return { y: out.y!.data as Float32Array, grads: grads.map((_, i) => out[`grad${i}`]!.data as Float32Array) };
  } finally {
    await session.release();
  }
}

test('activations, depthwise conv and layer norm match PyTorch (outputs and gradients, 1e-5 of each scale)', async () => {
  const { cases } = readParityFixture<{ cases: OpCase[] }>('zoo_ops.json');
  assert.equal(cases.length, 12);
  for (const c of cases) {
    const label = `${c.op}${c.kernel ? ` k${c.kernel} s${c.stride}` : ''}${c.axis !== undefined ? ` axis ${c.axis}` : ''}`;
    for (const block of c.op === 'depthwise' ? [0, await nchwcBlockSize()] : [0]) {
      const { y, grads } = await evaluate(c, block);
      const where = `${label}${block ? ` (NCHWc block ${block})` : ''}`;
      assert.ok(maxErrorOnScale(y, c.output) <= TOLERANCE, `${where}: output differs by ${maxErrorOnScale(y, c.output)}`);
      const expected = [c.inputGrad, c.weightGrad, c.biasGrad].filter((e): e is number[] => e !== undefined);
      assert.equal(grads.length, expected.length);
      grads.forEach((grad, i) => {
        const error = maxErrorOnScale(grad, expected[i]!);
        assert.ok(error <= TOLERANCE, `${where}: gradient ${i} differs by ${error}`);
      });
    }
  }
});
