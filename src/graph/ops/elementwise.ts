/** Element-wise differentiable ops: each forward beside its backward rule. */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';
import { engineTuning } from './tuning.js';

type T = SymbolicTensor;

export function add(g: Graph, a: T, b: T): T {
  const y = p.add(g, a, b);
  g.record([a, b], [y], ([dy]) => [
    g.requiresGrad(a) ? p.sumToShape(g, dy!, a.shape) : null,
    g.requiresGrad(b) ? p.sumToShape(g, dy!, b.shape) : null,
  ]);
  return y;
}

export function sub(g: Graph, a: T, b: T): T {
  const y = p.sub(g, a, b);
  g.record([a, b], [y], ([dy]) => [
    g.requiresGrad(a) ? p.sumToShape(g, dy!, a.shape) : null,
    g.requiresGrad(b) ? p.sumToShape(g, p.unary(g, 'Neg', dy!), b.shape) : null,
  ]);
  return y;
}

export function mul(g: Graph, a: T, b: T): T {
  const y = p.mul(g, a, b);
  g.record([a, b], [y], ([dy]) => [
    g.requiresGrad(a) ? p.sumToShape(g, p.mul(g, dy!, b), a.shape) : null,
    g.requiresGrad(b) ? p.sumToShape(g, p.mul(g, dy!, a), b.shape) : null,
  ]);
  return y;
}

export function div(g: Graph, a: T, b: T): T {
  const y = p.div(g, a, b);
  g.record([a, b], [y], ([dy]) => {
    const da = g.requiresGrad(a) ? p.sumToShape(g, p.div(g, dy!, b), a.shape) : null;
    // d(a/b)/db = -y/b
    const db = g.requiresGrad(b) ? p.sumToShape(g, p.unary(g, 'Neg', p.div(g, p.mul(g, dy!, y), b)), b.shape) : null;
    return [da, db];
  });
  return y;
}

export function scale(g: Graph, x: T, factor: number): T {
  const y = p.scale(g, x, factor);
  g.record([x], [y], ([dy]) => [p.scale(g, dy!, factor)]);
  return y;
}

export function relu(g: Graph, x: T): T {
  const y = p.unary(g, 'Relu', x);
  g.record([x], [y], ([dy]) => [maskedGradient(g, dy!, p.greater(g, y, g.constant(0)))]);
  return y;
}

/**
 * dy where `mask` is true, 0 elsewhere: the backward of ReLU, ReLU6 and the other clipped
 * activations. A multiply by the mask cast to float (tuning.ts: ORT's Where is half as fast).
 */
export function maskedGradient(g: Graph, dy: T, mask: T): T {
  if (engineTuning.reluBackward === 'where') return p.where(g, mask, dy, g.constant(0));
  return p.mul(g, dy, p.cast(g, mask, 'float32'));
}

export function sqrt(g: Graph, x: T): T {
  const y = p.unary(g, 'Sqrt', x);
  g.record([x], [y], ([dy]) => [p.div(g, dy!, p.scale(g, y, 2))]);
  return y;
}

export function square(g: Graph, x: T): T {
  const y = p.mul(g, x, x);
  g.record([x], [y], ([dy]) => [p.mul(g, dy!, p.scale(g, x, 2))]);
  return y;
}

/** max(x, floor): the gradient flows only where x is above the floor. */
export function clampMin(g: Graph, x: T, floor: number): T {
  const bound = g.constant(floor);
  const y = g.emit1('Max', [x, bound], x.shape);
  g.record([x], [y], ([dy]) => [p.where(g, p.greater(g, x, bound), dy!, g.constant(0))]);
  return y;
}

/** Smooth L1 (Huber with delta 1), element-wise. */
export function smoothL1(g: Graph, x: T): T {
  const magnitude = p.unary(g, 'Abs', x);
  const small = g.emit1('Less', [magnitude, g.constant(1)], x.shape, {}, 'bool');
  const y = p.where(g, small, p.scale(g, p.mul(g, x, x), 0.5), p.sub(g, magnitude, g.constant(0.5)));
  g.record([x], [y], ([dy]) => [p.mul(g, dy!, g.emit1('Clip', [x, g.constant(-1), g.constant(1)], x.shape))]);
  return y;
}
