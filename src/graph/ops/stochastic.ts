/**
 * Dropout and stochastic depth in training graphs: seeded random masks drawn inside the graph
 * (ONNX RandomUniform with a seed attribute: ORT keeps the generator across runs, so a session
 * draws a fresh, reproducible mask each step). Identity in inference graphs (the layer decides).
 */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';

type T = SymbolicTensor;

/** A float mask of `shape`: 1 / (1 - rate) with probability 1 - rate, else 0. */
function keepMask(g: Graph, shape: readonly number[], rate: number, seed: number): T {
  const u = g.emit1('RandomUniform', [], shape, { shape: [...shape], seed: { float: seed }, dtype: 1 }, 'float32');
  const keep = g.emit1('Less', [u, g.constant(1 - rate)], shape, {}, 'bool');
  return p.scale(g, p.cast(g, keep, 'float32'), 1 / (1 - rate));
}

function maskedBy(g: Graph, x: T, mask: T): T {
  const y = p.mul(g, x, mask);
  g.record([x], [y], ([dy]) => [p.mul(g, dy!, mask)]);
  return y;
}

/** Element-wise dropout with PyTorch's scaling of the kept values by 1 / (1 - rate). */
export function dropout(g: Graph, x: T, rate: number, seed: number): T {
  if (rate <= 0) return x;
  if (rate >= 1) throw new Error(`dropout rate must be below 1, got ${rate}`);
  return maskedBy(g, x, keepMask(g, x.shape, rate, seed));
}

/** torchvision's StochasticDepth(mode='row'): each sample's residual branch dropped whole. */
export function stochasticDepth(g: Graph, x: T, rate: number, seed: number): T {
  if (rate <= 0) return x;
  if (rate >= 1) throw new Error(`stochastic depth rate must be below 1, got ${rate}`);
  const shape = x.shape.map((d, i) => (i === 0 ? d : 1));
  return maskedBy(g, x, keepMask(g, shape, rate, seed));
}
