/**
 * Squeeze-and-excitation's channel gate, y = x * gate(mean_hw(x)), forward beside backward.
 * x reaches y along two paths, through the multiply and through the pooled mean; the two parts
 * of dX are summed in one broadcast Add, dY * scale + dPooled / (H * W) as [N, C, 1, 1], where
 * the chain rule of the separate ops would spread dPooled to [N, C, H, W] first (an Expand) and
 * then add two full-size tensors. Measured in onnxruntime-node, 2 threads, min of 12 runs of
 * Mul(dY, scale) + that sum, shared machine (rough): [8,240,28,28] 7.9 -> 1.5 ms, [8,672,14,14]
 * 2.4 -> 1.2 ms, [8,1152,7,7] 0.82 -> 0.54 ms, [8,144,56,56] 9.8 -> 8.0 ms.
 */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';
import { toChannelMap } from './batch-reshape.js';

type T = SymbolicTensor;

/** `gate` maps the pooled [N, C] to the [N, C] scale (fc1, activation, fc2, sigmoid). */
export function channelGate(g: Graph, x: T, gate: (pooled: T) => T): T {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const pooled = p.reduceMean(g, x, [2, 3], false);
  // dY * scale, left by the multiply's backward (which runs first: it was recorded last) for the mean's.
  let throughScale: T | null = null;
  g.record([x], [pooled], ([dPooled]) => {
    const spread = p.reshape(g, p.scale(g, dPooled!, 1 / (h * w)), [n, c, 1, 1]);
    const dx = throughScale ? p.add(g, throughScale, spread) : p.expand(g, spread, x.shape);
    throughScale = null;
    return [dx];
  });
  const scale = toChannelMap(g, gate(pooled));
  const y = p.mul(g, x, scale);
  g.record([x, scale], [y], ([dy]) => {
    const dx = g.requiresGrad(x) ? p.mul(g, dy!, scale) : null;
    // The mean's backward runs whenever x needs a gradient and the scale depends on it, which it
    // does exactly when the scale needs one (x's path is the only way the gate's input can).
    const handOver = dx !== null && g.requiresGrad(scale);
    if (handOver) throughScale = dx;
    return [handOver ? null : dx, g.requiresGrad(scale) ? p.reduceSum(g, p.mul(g, dy!, x), [2, 3], true) : null];
  });
  return y;
}
