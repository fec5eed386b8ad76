import type { Graph } from './graph.js';
import type { SymbolicTensor } from './ir.js';
import * as p from './ops/primitives.js';

/**
 * Reverse-mode autodiff over the graph's tape: seeds d(output) = 1 and walks recorded ops
 * backwards, summing gradients that reach one tensor along several paths.
 * Returns the gradient of each requested tensor (same order), or throws if one is unreachable.
 */
export function gradients(g: Graph, output: SymbolicTensor, wrt: readonly SymbolicTensor[], seed?: SymbolicTensor): SymbolicTensor[] {
  const grads = new Map<string, SymbolicTensor>();
  grads.set(output.name, seed ?? g.constant(1, output.shape));
  for (let i = g.tape.length - 1; i >= 0; i--) {
    const entry = g.tape[i]!;
    const outputGrads = entry.outputs.map((o) => grads.get(o.name) ?? null);
    if (outputGrads.every((d) => d === null)) continue;
    const inputGrads = entry.backward(outputGrads);
    entry.inputs.forEach((input, k) => {
      const grad = inputGrads[k];
      if (!grad || !g.requiresGrad(input)) return;
      const previous = grads.get(input.name);
      grads.set(input.name, previous ? p.add(g, previous, grad) : grad);
    });
  }
  return wrt.map((t) => {
    const grad = grads.get(t.name);
    if (!grad) throw new Error(`no gradient reaches ${t.name}: it does not influence the output`);
    return grad;
  });
}
