import type { Module } from '../nn/module.js';
import { namePattern } from '../nn/module.js';
import { formatShape } from '../tensor.js';

/** Copies parameter values by name from one network to another of the same design; `except` patterns are left alone. */
export function copyWeights(from: Module, to: Module, options: { except?: string[] } = {}): void {
  const skip = (options.except ?? []).map(namePattern);
  const source = new Map(from.parameters().map((p) => [p.name, p]));
  for (const p of to.parameters()) {
    if (skip.some((r) => r.test(p.name))) continue;
    const q = source.get(p.name);
    if (!q) throw new Error(`copyWeights: the source network has no ${p.name}`);
    if (q.data.length !== p.data.length) throw new Error(`copyWeights: ${p.name} has shape ${formatShape(q.shape)} in the source and ${formatShape(p.shape)} in the target`);
    p.data = Float32Array.from(q.data);
  }
}
