/** Clip (ReLU6 is Clip(0, 6)): forward beside backward. */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';
import { maskedGradient } from './elementwise.js';

type T = SymbolicTensor;

/** min(max(x, low), high); the gradient flows where x is strictly inside (low, high), as in PyTorch's hardtanh. */
export function clip(g: Graph, x: T, low: number | undefined, high: number | undefined): T {
  const y = g.emit1('Clip', [x, low === undefined ? null : g.constant(low), high === undefined ? null : g.constant(high)], x.shape);
  g.record([x], [y], ([dy]) => {
    let inside: T | null = null;
    if (low !== undefined) inside = p.greater(g, x, g.constant(low));
    if (high !== undefined) {
      const below = g.emit1('Less', [x, g.constant(high)], x.shape, {}, 'bool');
      inside = inside ? g.emit1('And', [inside, below], x.shape, {}, 'bool') : below;
    }
    return [inside ? maskedGradient(g, dy!, inside) : dy!];
  });
  return y;
}
