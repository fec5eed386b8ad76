import type { SymbolicTensor } from '../graph/ir.js';
import type { ForwardContext } from './context.js';
import { Parameter } from './parameter.js';

/** camelCase fields give MindSpore's snake_case names: downSample -> down_sample, movingMean -> moving_mean. */
export function snakeCase(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Glob-like pattern on dotted names: `*` matches within one segment, `**` across segments. */
export function namePattern(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^.]*').replace(/\u0000/g, '.*');
  return new RegExp(`^${escaped}(\\..*)?$`);
}

/**
 * A layer or a network, like MindSpore's nn.Cell and torch.nn.Module: children and parameters
 * are the object's own fields, in declaration order; `forward` emits graph nodes.
 */
export abstract class Module {
  /** BN layers use batch statistics when true and the network is built for training. */
  training = true;

  abstract forward(ctx: ForwardContext, x: SymbolicTensor): SymbolicTensor;

  namedChildren(): Array<[string, Module]> {
    return Object.entries(this).filter((entry): entry is [string, Module] => entry[1] instanceof Module).map(([k, v]) => [snakeCase(k), v]);
  }

  namedOwnParameters(): Array<[string, Parameter]> {
    return Object.entries(this).filter((entry): entry is [string, Parameter] => entry[1] instanceof Parameter).map(([k, v]) => [snakeCase(k), v]);
  }

  /** Every parameter with its dotted path below this module; changes nothing. */
  namedParameters(prefix = ''): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = this.namedOwnParameters().map(([name, p]) => [prefix + name, p]);
    for (const [name, child] of this.namedChildren()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /**
   * Gives every parameter its full dotted name as seen from this module (`layer1.0.conv1.weight`).
   * Call it on the network (the root) once its tree is final: compiling, saving and loading key
   * tensors by these names.
   */
  nameParameters(): this {
    for (const [name, p] of this.namedParameters()) p.name = name;
    return this;
  }

  /** Every parameter, named as by `nameParameters` (which it calls: the tree may have changed since). */
  parameters(): Parameter[] {
    this.nameParameters();
    return this.namedParameters().map(([, p]) => p);
  }

  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix.replace(/\.$/, ''), this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(`${prefix}${name}.`));
    return out;
  }

  /** Weights that training updates (MindSpore's trainable_params). */
  trainableParams(): Parameter[] {
    return this.parameters().filter((p) => p.kind === 'weight' && p.requiresGrad);
  }

  /** Freezes weights whose names match any pattern (`layer1.*`, `**.norm*`); no pattern = all. */
  freeze(...patterns: string[]): this {
    this.setRequiresGrad(false, patterns);
    return this;
  }

  unfreeze(...patterns: string[]): this {
    this.setRequiresGrad(true, patterns);
    return this;
  }

  private setRequiresGrad(value: boolean, patterns: string[]): void {
    const regexes = patterns.map(namePattern);
    for (const p of this.parameters()) {
      if (p.kind !== 'weight') continue;
      if (regexes.length === 0 || regexes.some((r) => r.test(p.name))) p.requiresGrad = value;
    }
  }

  /** Sets BN mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  parameterCount(): number {
    return this.namedParameters().reduce((n, [, p]) => n + p.size, 0);
  }
}
