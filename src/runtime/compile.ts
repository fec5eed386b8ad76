/** Builds the ONNX graphs a network runs as: an inference graph, and a training-step graph. */
import { Graph } from '../graph/graph.js';
import type { SymbolicTensor } from '../graph/ir.js';
import { gradients } from '../graph/autodiff.js';
import { softmaxCrossEntropy } from '../graph/ops/loss.js';
import { add } from '../graph/ops/elementwise.js';
import { declareStepScalars, emitUpdate, type OptimizerConfig } from '../graph/optim.js';
import { InferenceContext, TrainingContext } from '../nn/context.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';

export type Stages = Array<[string, Module]>;

function runStages(ctx: InferenceContext | TrainingContext, stages: Stages, x: SymbolicTensor, capture?: string): { y: SymbolicTensor; captured?: SymbolicTensor } {
  let y = x;
  let captured: SymbolicTensor | undefined;
  for (const [name, stage] of stages) {
    y = stage.forward(ctx, y);
    if (name === capture) captured = y;
  }
  return { y, captured };
}

/**
 * An inference graph over `stages` with every weight constant (ORT then folds BN into convs and
 * picks blocked layouts). The batch dimension is symbolic: any batch size runs.
 */
export function buildInferenceGraph(stages: Stages, inputShape: readonly number[], options: { outputs?: string[] } = {}): Graph {
  const g = new Graph();
  const ctx = new InferenceContext(g);
  const x = g.input('input', [1, ...inputShape], 'float32', { dynamicBatch: true });
  let y = x;
  const wanted = new Set(options.outputs ?? []);
  for (const [name, stage] of stages) {
    y = stage.forward(ctx, y);
    if (wanted.has(name)) g.output(y, name, { dynamicBatch: true });
  }
  if (!wanted.has(stages[stages.length - 1]![0])) g.output(y, 'output', { dynamicBatch: true });
  return g;
}

export interface TrainingGraphOptions {
  batchSize: number;
  /** Shape of one sample entering the first stage (an image [C, H, W], or cached activations). */
  inputShape: readonly number[];
  optimizer: OptimizerConfig;
  /** Whether BN layers in training mode use batch statistics (and update their moving averages). */
  bnTraining: boolean;
  /** Multiplier on the learning rate per parameter (e.g. 0.1 for the pretrained body). */
  lrScale?: (parameter: Parameter) => number;
  labelSmoothing?: number;
  /** Replaces the sparse cross-entropy (class-weighted or soft-target losses); may declare graph inputs, fed as extra inputs. */
  loss?: (g: Graph, logits: SymbolicTensor, labels: SymbolicTensor) => SymbolicTensor;
  /** Stage whose output is exposed as `features` (RKD's embedding). */
  featureStage?: string;
  /**
   * An extra loss term added to cross-entropy, given the features; it may declare its own graph
   * inputs (a teacher's embeddings). Returned tensor must be a scalar.
   */
  extraLoss?: (g: Graph, features: SymbolicTensor) => SymbolicTensor;
  /** Also output each trainable weight's gradient as `grad:<name>` (for parity checks against other frameworks). */
  outputGradients?: boolean;
  /** ORT CPU's NCHWc block (runtime/nchwc.ts): lets ops use its blocked kernels (Graph.nchwcBlock); 0 or unset: standard ops only. */
  nchwcBlock?: number;
}

export interface TrainingGraph {
  graph: Graph;
  trainable: Parameter[];
  statistics: Parameter[];
  /** Names of optimizer state inputs with the parameter each belongs to. */
  optimizerState: Array<{ name: string; parameter: Parameter }>;
}

/**
 * forward + sparse softmax cross-entropy (+ extra loss) + backward + optimizer update + BN
 * running statistics, as one graph. Inputs: input, labels (int64), step scalars, trainable
 * weights, optimizer state, BN statistics. Outputs: loss, logits, and `<name>__new` for
 * everything that changes.
 */
export function buildTrainingGraph(stages: Stages, options: TrainingGraphOptions): TrainingGraph {
  const g = new Graph();
  g.nchwcBlock = options.nchwcBlock ?? 0;
  const ctx = new TrainingContext(g, () => options.bnTraining);
  const x = g.input('input', [options.batchSize, ...options.inputShape]);
  const labels = g.input('labels', [options.batchSize], 'int64');
  const { y: logits, captured } = runStages(ctx, stages, x, options.featureStage);
  if (logits.shape.length !== 2) throw new Error(`the network's output must be [N, classes], got [${logits.shape.join(', ')}]`);
  let loss = options.loss ? options.loss(g, logits, labels) : softmaxCrossEntropy(g, logits, labels, { labelSmoothing: options.labelSmoothing });
  if (options.extraLoss) {
    if (!captured) throw new Error(`extra loss needs the features of stage ${options.featureStage ?? '(none given)'}`);
    loss = add(g, loss, options.extraLoss(g, captured));
  }
  if (ctx.trainable.length === 0) throw new Error('nothing to train: every weight in these stages is frozen');
  const grads = gradients(g, loss, ctx.trainable.map((t) => t.value));
  const scalars = declareStepScalars(g, options.optimizer);
  const optimizerState: TrainingGraph['optimizerState'] = [];
  ctx.trainable.forEach(({ parameter, value }, i) => {
    const update = emitUpdate(g, options.optimizer, parameter.name, value, grads[i]!, scalars, options.lrScale?.(parameter) ?? 1);
    g.output(update.updated, `${parameter.name}__new`);
    if (options.outputGradients) g.output(grads[i]!, `grad:${parameter.name}`);
    for (const s of update.state) {
      optimizerState.push({ name: s.value.name, parameter });
      g.output(s.updated, `${s.value.name}__new`);
    }
  });
  for (const s of ctx.statistics) {
    if (!s.updated) throw new Error(`${s.parameter.name} was declared but never updated`);
    g.output(s.updated, `${s.parameter.name}__new`);
  }
  g.output(loss, 'loss');
  g.output(logits, 'logits');
  if (captured) g.output(captured, 'features');
  return { graph: g, trainable: ctx.trainable.map((t) => t.parameter), statistics: ctx.statistics.map((s) => s.parameter), optimizerState };
}
