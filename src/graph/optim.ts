/**
 * Optimizer updates emitted into the training graph, so one ORT run does forward, backward and
 * update. State tensors are graph inputs with `__new` outputs, fed back on the next step.
 */
import type { Graph } from './graph.js';
import type { SymbolicTensor } from './ir.js';
import * as p from './ops/primitives.js';

export type OptimizerConfig = (
  /** MindSpore's nn.Momentum (and torch SGD with momentum, dampening 0): v = m*v + g; w -= lr*v. */
  | { kind: 'momentum'; momentum: number; weightDecay?: number; nesterov?: boolean }
  | { kind: 'sgd'; weightDecay?: number }
  /** Adam with L2 weight decay added to the gradient; AdamW decays the weights directly. */
  | { kind: 'adam' | 'adamw'; beta1?: number; beta2?: number; eps?: number; weightDecay?: number }
) & {
  /**
   * Gradient accumulation: the mean gradient of this many steps is applied once, on every
   * accumulate-th step (the others only add to `grad_acc.<name>`): a batch this many times larger
   * in the memory of one.
   */
  accumulate?: number;
};

/** Name prefixes of every optimizer state tensor (checkpoints keep them for resuming). */
export const OPTIMIZER_STATE_PREFIXES = ['moments', 'adam_m', 'adam_v', 'grad_acc'] as const;

function accumulation(config: OptimizerConfig): number {
  const n = config.accumulate ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`gradient accumulation needs a whole number of steps >= 1, got ${n}`);
  return n;
}

export interface OptimizerState {
  /** Name prefix of the state tensor: MindSpore's checkpoints call momentum buffers `moments.<param>`. */
  prefix: string;
}

export function optimizerStateSlots(config: OptimizerConfig): string[] {
  const accumulator = accumulation(config) > 1 ? ['grad_acc'] : [];
  switch (config.kind) {
    case 'momentum': return ['moments', ...accumulator];
    case 'sgd': return accumulator;
    case 'adam':
    case 'adamw': return ['adam_m', 'adam_v', ...accumulator];
  }
}

/** Scalars fed each step (learning rate, Adam's bias corrections), computed on the host. */
export interface StepScalars {
  learningRate: SymbolicTensor;
  /** 1 on the steps that apply the accumulated gradient, 0 on the others. */
  applyUpdate?: SymbolicTensor;
  adamCorrection1?: SymbolicTensor;
  adamCorrection2?: SymbolicTensor;
}

export function declareStepScalars(g: Graph, config: OptimizerConfig): StepScalars {
  const scalars: StepScalars = { learningRate: g.input('learning_rate', []) };
  if (accumulation(config) > 1) scalars.applyUpdate = g.input('apply_update', []);
  if (config.kind === 'adam' || config.kind === 'adamw') {
    scalars.adamCorrection1 = g.input('adam_correction1', []);
    scalars.adamCorrection2 = g.input('adam_correction2', []);
  }
  return scalars;
}

/** Host-side values of the step scalars at a given (1-based) step. */
export function stepScalarValues(config: OptimizerConfig, learningRate: number, step: number): Record<string, number> {
  const values: Record<string, number> = { learning_rate: learningRate };
  const every = accumulation(config);
  if (every > 1) values.apply_update = step % every === 0 ? 1 : 0;
  // With accumulation, Adam counts the updates applied, not the steps.
  const updates = Math.ceil(step / every);
  if (config.kind === 'adam' || config.kind === 'adamw') {
    values.adam_correction1 = 1 / (1 - Math.pow(config.beta1 ?? 0.9, updates));
    values.adam_correction2 = 1 / (1 - Math.pow(config.beta2 ?? 0.999, updates));
  }
  return values;
}

export interface ParameterUpdate {
  updated: SymbolicTensor;
  state: Array<{ slot: string; value: SymbolicTensor; updated: SymbolicTensor }>;
}

/**
 * Emits the update of one parameter. `lrScale` gives per-group rates (a lower one for a pretrained
 * body). With accumulation, the step adds gradient / N to the accumulator and only the applying
 * step (apply_update = 1) updates the weight and the optimizer state from the accumulated mean.
 */
export function emitUpdate(g: Graph, config: OptimizerConfig, name: string, weight: SymbolicTensor, gradient: SymbolicTensor, scalars: StepScalars, lrScale = 1): ParameterUpdate {
  const every = accumulation(config);
  if (every === 1) return emitDirectUpdate(g, config, name, weight, gradient, scalars, lrScale);
  const accumulator = g.input(`grad_acc.${name}`, weight.shape);
  const accumulated = p.add(g, accumulator, p.scale(g, gradient, 1 / every));
  const direct = emitDirectUpdate(g, config, name, weight, accumulated, scalars, lrScale);
  // Where, not blending: the steps that only accumulate must leave weights and state bit for bit.
  const apply = p.greater(g, scalars.applyUpdate!, g.constant(0.5));
  const chosen = (ifApplied: SymbolicTensor, otherwise: SymbolicTensor) => p.where(g, apply, ifApplied, otherwise);
  return {
    updated: chosen(direct.updated, weight),
    state: [
      ...direct.state.map((s) => ({ ...s, updated: chosen(s.updated, s.value) })),
      { slot: 'grad_acc', value: accumulator, updated: chosen(g.constant(0), accumulated) },
    ],
  };
}

function emitDirectUpdate(g: Graph, config: OptimizerConfig, name: string, weight: SymbolicTensor, gradient: SymbolicTensor, scalars: StepScalars, lrScale: number): ParameterUpdate {
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
