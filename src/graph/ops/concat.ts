/** Concat: forward beside backward (each input's gradient is its slice of dY). */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';

type T = SymbolicTensor;

export function concat(g: Graph, parts: T[], axis: number): T {
  const rank = parts[0]!.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  const y = p.concat(g, parts, a);
  g.record(parts, [y], ([dy]) => {
    let start = 0;
    return parts.map((part) => {
      const end = start + part.shape[a]!;
      const grad = g.requiresGrad(part) ? p.slice(g, dy!, [a], [start], [end], [1]) : null;
      start = end;
      return grad;
    });
  });
  return y;
}
