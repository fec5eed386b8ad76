import assert from 'node:assert/strict';
import { Graph } from '../../src/graph/graph.js';
import type { SymbolicTensor } from '../../src/graph/ir.js';
import { gradients } from '../../src/graph/autodiff.js';
import * as p from '../../src/graph/ops/primitives.js';
import { serializeGraph } from '../../src/graph/onnx.js';
import { Session } from '../../src/runtime/session.js';
import { numel } from '../../src/tensor.js';
import { mulberry32, normal } from '../../src/util/random.js';

export interface GradcheckInput {
  name: string;
  shape: number[];
  /** Generates values; default N(0, 1). Use spread-out values where ops have kinks (ReLU, max). */
  values?: Float32Array;
}

export interface GradcheckOptions {
  epsilon?: number;
  relativeTolerance?: number;
  absoluteTolerance?: number;
  seed?: number;
}

/**
 * Central finite differences against the autodiff graph, on L = sum(f(inputs) * R) with a fixed
 * random R so every output element contributes with a different weight.
 */
export async function gradcheck(
  build: (g: Graph, inputs: SymbolicTensor[]) => SymbolicTensor,
  inputs: GradcheckInput[],
  options: GradcheckOptions = {},
): Promise<void> {
  const random = mulberry32(options.seed ?? 7);
  const values = inputs.map((input) => input.values ?? Float32Array.from({ length: numel(input.shape) }, () => normal(random)));
  const makeGraph = (withGradients: boolean) => {
    const g = new Graph();
    const symbols = inputs.map((input) => g.input(input.name, input.shape, 'float32', { requiresGrad: withGradients }));
    const out = build(g, symbols);
    const weightRandom = mulberry32(99);
    const weights = g.constant(Array.from({ length: numel(out.shape) }, () => normal(weightRandom)), out.shape);
    const loss = p.reduceSum(g, p.mul(g, out, weights), out.shape.map((_, i) => i), false);
    // The weighted sum itself is emitted without recording; seed its gradient directly.
    g.output(loss, 'loss');
    if (withGradients) {
      const grads = gradients(g, out, symbols, weights);
      grads.forEach((grad, i) => g.output(grad, `grad_${inputs[i]!.name}`));
    }
    return g;
  };
  const feedsFor = (vals: Float32Array[]) => Object.fromEntries(inputs.map((input, i) => [input.name, { data: vals[i]!, shape: input.shape }]));
  const analytic = await Session.create(serializeGraph(makeGraph(true)), { threads: 1 });
  const forward = await Session.create(serializeGraph(makeGraph(false)), { threads: 1 });
  try {
    const result = await analytic.run(feedsFor(values));
    const eps = options.epsilon ?? 1e-2;
    for (let k = 0; k < inputs.length; k++) {
      const grad = result[`grad_${inputs[k]!.name}`]!.data as Float32Array;
      assert.deepEqual([...result[`grad_${inputs[k]!.name}`]!.dims], inputs[k]!.shape, `gradient shape of ${inputs[k]!.name}`);
      const numeric = new Float64Array(grad.length);
      for (let i = 0; i < grad.length; i++) {
        const original = values[k]![i]!;
        values[k]![i] = original + eps;
        const plus = ((await forward.run(feedsFor(values))).loss!.data as Float32Array)[0]!;
        values[k]![i] = original - eps;
        const minus = ((await forward.run(feedsFor(values))).loss!.data as Float32Array)[0]!;
        values[k]![i] = original;
        numeric[i] = (plus - minus) / (2 * eps);
      }
      const scale = Math.max(1e-3, ...Array.from(numeric, Math.abs));
      const atol = (options.absoluteTolerance ?? 2e-3) * scale;
      const rtol = options.relativeTolerance ?? 2e-2;
      for (let i = 0; i < grad.length; i++) {
        const difference = Math.abs(grad[i]! - numeric[i]!);
        assert.ok(difference <= atol + rtol * Math.abs(numeric[i]!),
          `d/d${inputs[k]!.name}[${i}]: autodiff ${grad[i]} vs finite difference ${numeric[i]} (|diff| ${difference.toExponential(2)})`);
      }
    }
  } finally {
    await analytic.release();
    await forward.release();
  }
}
