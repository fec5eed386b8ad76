import type { SymbolicTensor } from '../../graph/ir.js';
import type { ForwardContext } from '../context.js';
import { Module } from '../module.js';

/** Children named 0, 1, 2... as MindSpore's SequentialCell and torch's Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }

  override namedChildren(): Array<[string, Module]> {
    return this.layers.map((m, i) => [String(i), m]);
  }

  get length(): number {
    return this.layers.length;
  }

  at(index: number): Module {
    const layer = this.layers[index];
    if (!layer) throw new Error(`Sequential has ${this.layers.length} layers, no index ${index}`);
    return layer;
  }

  forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor {
    return this.layers.reduce((y, layer) => layer.forward(ctx, y), x);
  }
}
