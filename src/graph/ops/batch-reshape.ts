/**
 * Reshape whose first dimension is left to ONNX (-1), so inference graphs built at batch 1 run at
 * any batch size (primitives.reshape writes the resolved sizes into the graph).
 */
import type { Graph } from '../graph.js';
import type { SymbolicTensor } from '../ir.js';
import * as p from './primitives.js';

type T = SymbolicTensor;

export function reshapeFreeBatch(g: Graph, x: T, shape: readonly number[]): T {
  const total = x.shape.reduce((a, b) => a * b, 1);
  const rest = shape.slice(1).reduce((a, b) => a * b, 1);
  if (total % rest !== 0 || shape[0] !== total / rest) throw new Error(`cannot reshape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  const y = g.emit1('Reshape', [x, g.constantInt64([-1, ...shape.slice(1)])], shape);
  g.record([x], [y], ([dy]) => [p.reshape(g, dy!, x.shape)]);
  return y;
}

/** [N, C] -> [N, C, 1, 1] at any batch size. */
export function toChannelMap(g: Graph, x: T): T {
  const y = g.emit1('Unsqueeze', [x, g.constantInt64([2, 3])], [...x.shape, 1, 1]);
  g.record([x], [y], ([dy]) => [p.reshape(g, dy!, x.shape)]);
  return y;
}
