/**
 * Layer normalization over one axis (ConvNeXt's): the channels-last form over the last axis
 * of [N, H, W, C] (torch.nn.LayerNorm), and the NCHW form over axis 1 (torchvision's
 * LayerNorm2d, which permutes to channels-last and back). Two-pass statistics, as batch norm.
 * Backward: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma.
 */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';

type T = SymbolicTensor;

function affineShape(rank: number, axis: number, size: number): number[] {
  return Array.from({ length: rank }, (_, i) => (i === axis ? size : 1));
}

export function layerNorm(g: Graph, x: T, gamma: T, beta: T, eps: number, axis: number = x.shape.length - 1): T {
  const rank = x.shape.length;
  const size = x.shape[axis]!;
  if (gamma.shape.length !== 1 || gamma.shape[0] !== size) {
    throw new Error(`LayerNorm over axis ${axis} of [${x.shape.join(', ')}] needs a weight of [${size}], got [${gamma.shape.join(', ')}]`);
  }
  const gammaB = p.reshape(g, gamma, affineShape(rank, axis, size));
  const betaB = p.reshape(g, beta, affineShape(rank, axis, size));
  const mean = p.reduceMean(g, x, [axis]);
  const centered = p.sub(g, x, mean);
  const variance = p.reduceMean(g, p.mul(g, centered, centered), [axis]);
  // A raw Add: primitives.add flattens [N, H, W, 1] + scalar into a reshape that fixes the batch size.
  const shifted = g.emit1('Add', [variance, g.constant(eps)], variance.shape);
  const rstd = p.unary(g, 'Reciprocal', p.unary(g, 'Sqrt', shifted));
  const normalized = p.mul(g, centered, rstd);
  const y = p.add(g, p.mul(g, normalized, gammaB), betaB);
  g.record([x, gamma, beta], [y], ([dy]) => {
    const others = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const dgamma = g.requiresGrad(gamma) ? p.reshape(g, p.reduceSum(g, p.mul(g, dy!, normalized), others), [size]) : null;
    const dbeta = g.requiresGrad(beta) ? p.reshape(g, p.reduceSum(g, dy!, others), [size]) : null;
    let dx: T | null = null;
    if (g.requiresGrad(x)) {
      const scaled = p.mul(g, dy!, gammaB);
      const meanScaled = p.reduceMean(g, scaled, [axis]);
      const meanProjected = p.reduceMean(g, p.mul(g, scaled, normalized), [axis]);
      dx = p.mul(g, rstd, p.sub(g, p.sub(g, scaled, meanScaled), p.mul(g, normalized, meanProjected)));
    }
    return [dx, dgamma, dbeta];
  });
  return y;
}
