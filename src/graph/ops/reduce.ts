/** Reductions and shape changes: each forward beside its backward rule. */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';

type T = SymbolicTensor;

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export function reduceSum(g: Graph, x: T, axes: readonly number[], keepDims = true): T {
  const y = p.reduceSum(g, x, axes, keepDims);
  g.record([x], [y], ([dy]) => [p.expand(g, p.reshape(g, dy!, keptShape(x.shape, axes)), x.shape)]);
  return y;
}

export function reduceMean(g: Graph, x: T, axes: readonly number[], keepDims = true): T {
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  const y = p.reduceMean(g, x, axes, keepDims);
  g.record([x], [y], ([dy]) => [p.expand(g, p.reshape(g, p.scale(g, dy!, 1 / count), keptShape(x.shape, axes)), x.shape)]);
  return y;
}

export function reshape(g: Graph, x: T, shape: readonly number[]): T {
  const y = p.reshape(g, x, shape);
  if (y !== x) g.record([x], [y], ([dy]) => [p.reshape(g, dy!, x.shape)]);
  return y;
}

/** ONNX Flatten keeps the batch dimension symbolic, so inference graphs accept any batch size. */
export function flatten(g: Graph, x: T): T {
  const features = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const y = g.emit1('Flatten', [x], [x.shape[0]!, features], { axis: 1 });
  g.record([x], [y], ([dy]) => [p.reshape(g, dy!, x.shape)]);
  return y;
}

export function transpose(g: Graph, x: T, perm: readonly number[]): T {
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const y = p.transpose(g, x, perm);
  g.record([x], [y], ([dy]) => [p.transpose(g, dy!, inverse)]);
  return y;
}

export function unsqueeze(g: Graph, x: T, axis: number): T {
  const y = p.unsqueeze(g, x, axis);
  g.record([x], [y], ([dy]) => [p.reshape(g, dy!, x.shape)]);
  return y;
}

export function matmul(g: Graph, a: T, b: T): T {
  const y = p.matmul(g, a, b);
  const swapLast = (t: T) => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return p.transpose(g, t, perm);
  };
  g.record([a, b], [y], ([dy]) => [
    g.requiresGrad(a) ? p.sumToShape(g, p.matmul(g, dy!, swapLast(b)), a.shape) : null,
    g.requiresGrad(b) ? p.sumToShape(g, p.matmul(g, swapLast(a), dy!), b.shape) : null,
  ]);
  return y;
}
