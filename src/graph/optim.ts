/**
 * Optimizer updates emitted into the training graph, so one ORT run does forward, backward and
 * update. State tensors are graph inputs with `__new` outputs, fed back on the next step.
 */
import type { Graph } from './graph.js';
import type { SymbolicTensor } from './ir.js';
import * as p from './ops/primitives.js';

export type OptimizerConfig =
  /** MindSpore's nn.Momentum (and torch SGD with momentum, dampening 0): v = m*v + g; w -= lr*v. */
  | { kind: 'momentum'; momentum: number; weightDecay?: number; nesterov?: boolean }
  | { kind: 'sgd'; weightDecay?: number }
  /** Adam with L2 weight decay added to the gradient; AdamW decays the weights directly. */
  | { kind: 'adam' | 'adamw'; beta1?: number; beta2?: number; eps?: number; weightDecay?: number };

export interface OptimizerState {
  /** Name prefix of the state tensor: MindSpore's checkpoints call momentum buffers `moments.<param>`. */
  prefix: string;
}

export function optimizerStateSlots(config: OptimizerConfig): string[] {
  switch (config.kind) {
    case 'momentum': return ['moments'];
    case 'sgd': return [];
    case 'adam':
    case 'adamw': return ['adam_m', 'adam_v'];
  }
}

/** Scalars fed each step (learning rate, Adam's bias corrections), computed on the host. */
export interface StepScalars {
  learningRate: SymbolicTensor;
  adamCorrection1?: SymbolicTensor;
  adamCorrection2?: SymbolicTensor;
}

export function declareStepScalars(g: Graph, config: OptimizerConfig): StepScalars {
  const scalars: StepScalars = { learningRate: g.input('learning_rate', []) };
  if (config.kind === 'adam' || config.kind === 'adamw') {
    scalars.adamCorrection1 = g.input('adam_correction1', []);
    scalars.adamCorrection2 = g.input('adam_correction2', []);
  }
  return scalars;
}

/** Host-side values of the step scalars at a given (1-based) step. */
export function stepScalarValues(config: OptimizerConfig, learningRate: number, step: number): Record<string, number> {
  const values: Record<string, number> = { learning_rate: learningRate };
  if (config.kind === 'adam' || config.kind === 'adamw') {
    values.adam_correction1 = 1 / (1 - Math.pow(config.beta1 ?? 0.9, step));
    values.adam_correction2 = 1 / (1 - Math.pow(config.beta2 ?? 0.999, step));
  }
  return values;
}

export interface ParameterUpdate {
  updated: SymbolicTensor;
  state: Array<{ slot: string; value: SymbolicTensor; updated: SymbolicTensor }>;
}

/** Emits the update of one parameter. `lrScale` gives per-group rates (a lower one for a pretrained body). */
export function emitUpdate(g: Graph, config: OptimizerConfig, name: string, weight: SymbolicTensor, gradient: SymbolicTensor, scalars: StepScalars, lrScale = 1): ParameterUpdate {
  const lr = lrScale === 1 ? scalars.learningRate : p.scale(g, scalars.learningRate, lrScale);
  const decay = config.weightDecay ?? 0;
  const decayed = decay > 0 && config.kind !== 'adamw' ? p.add(g, gradient, p.scale(g, weight, decay)) : gradient;
  switch (config.kind) {
    case 'sgd':
      return { updated: p.sub(g, weight, p.mul(g, decayed, lr)), state: [] };
    case 'momentum': {
      const velocity = g.input(`moments.${name}`, weight.shape);
      const newVelocity = p.add(g, p.scale(g, velocity, config.momentum), decayed);
      const step = config.nesterov ? p.add(g, decayed, p.scale(g, newVelocity, config.momentum)) : newVelocity;
      return { updated: p.sub(g, weight, p.mul(g, step, lr)), state: [{ slot: 'moments', value: velocity, updated: newVelocity }] };
    }
    case 'adam':
    case 'adamw': {
      const beta1 = config.beta1 ?? 0.9;
      const beta2 = config.beta2 ?? 0.999;
      const m = g.input(`adam_m.${name}`, weight.shape);
      const v = g.input(`adam_v.${name}`, weight.shape);
      const newM = p.add(g, p.scale(g, m, beta1), p.scale(g, decayed, 1 - beta1));
      const newV = p.add(g, p.scale(g, v, beta2), p.scale(g, p.mul(g, decayed, decayed), 1 - beta2));
      const mHat = p.mul(g, newM, scalars.adamCorrection1!);
      const vHat = p.mul(g, newV, scalars.adamCorrection2!);
      const direction = p.div(g, mHat, p.add(g, p.unary(g, 'Sqrt', vHat), g.constant(config.eps ?? 1e-8)));
      let base = weight;
      if (config.kind === 'adamw' && decay > 0) base = p.sub(g, weight, p.mul(g, p.scale(g, weight, decay), lr));
      return {
        updated: p.sub(g, base, p.mul(g, direction, lr)),
        state: [{ slot: 'adam_m', value: m, updated: newM }, { slot: 'adam_v', value: v, updated: newV }],
      };
    }
  }
}
