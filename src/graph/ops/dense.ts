/** Fully connected layer, weight [out, in] as MindSpore's nn.Dense and torch.nn.Linear. */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';

type T = SymbolicTensor;

export function dense(g: Graph, x: T, weight: T, bias: T | null): T {
  const [n, features] = x.shape as [number, number];
  const [out, inFeatures] = weight.shape as [number, number];
  if (x.shape.length !== 2 || features !== inFeatures) {
    throw new Error(`Dense with weight [${weight.shape.join(', ')}] expects input [N, ${inFeatures}], got [${x.shape.join(', ')}]`);
  }
  const y = g.emit1('Gemm', bias ? [x, weight, bias] : [x, weight], [n, out], { transB: 1 });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  g.record(inputs, [y], ([dy]) => [
    g.requiresGrad(x) ? p.matmul(g, dy!, weight) : null,
    g.requiresGrad(weight) ? g.emit1('Gemm', [dy!, x], [out, inFeatures], { transA: 1 }) : null,
    bias && g.requiresGrad(bias) ? p.reduceSum(g, dy!, [0], false) : null,
  ]);
  return y;
}
