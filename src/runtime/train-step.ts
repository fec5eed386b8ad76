import type { OrtTensor } from './ort.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { serializeGraph } from '../graph/onnx.js';
import { stepScalarValues, type OptimizerConfig } from '../graph/optim.js';
import { buildTrainingGraph, type Stages, type TrainingGraphOptions } from './compile.js';
import { InferenceRunner } from './inference.js';
import type { Int8Options } from './int8.js';
import { nchwcBlockSize } from './nchwc.js';
import { ortEngine } from './ort.js';
import { Session, toOrtTensor, type SessionOptions } from './session.js';
import { firstTrainableStage, stagesOf } from './stages.js';

export interface TrainStepOptions extends Omit<TrainingGraphOptions, 'batchSize' | 'inputShape'> {
  /** Shape of one image [C, H, W]. */
  inputShape: readonly number[];
  session?: SessionOptions;
  /**
   * Run the frozen prefix (steps before the first trainable one) as a separate inference
   * graph with constant, BN-folded weights. On by default.
   */
  splitFrozenPrefix?: boolean;
  /** Extra graph inputs of `extraLoss`, fed per step (e.g. teacher embeddings), by name and per-sample shape. */
  extraInputs?: Record<string, readonly number[]>;
  /** Run the frozen prefix as an int8 graph (runtime/int8.ts); only a frozen prefix can be int8. */
  prefixInt8?: Int8Options;
}

export interface StepResult {
  loss: number;
  logits: Float32Array;
  features?: Float32Array;
}

/**
 * A compiled training step. Weights, optimizer state and BN statistics live in ORT tensors
 * between steps and are fed back without copies; `syncToNetwork` hands them to the network's
 * parameters (also without copying) before saving or evaluating.
 */
export class TrainStep {
  private readonly sessions = new Map<number, Promise<Session>>();
  private readonly state = new Map<string, OrtTensor>();
  private stepCount = 0;
  readonly trainable: Parameter[];
  readonly statistics: Parameter[];
  private readonly optimizerSlots: Array<{ name: string; parameter: Parameter }>;

  private constructor(
    private readonly suffix: Stages,
    private readonly options: TrainStepOptions,
    readonly prefix: InferenceRunner | null,
    readonly suffixInputShape: readonly number[],
    probe: ReturnType<typeof buildTrainingGraph>,
    initialState?: Map<string, Float32Array>,
  ) {
    this.trainable = probe.trainable;
    this.statistics = probe.statistics;
    this.optimizerSlots = probe.optimizerState;
    for (const p of [...this.trainable, ...this.statistics]) this.state.set(p.name, toOrtTensor({ data: p.data, shape: p.shape }));
    for (const { name, parameter } of this.optimizerSlots) {
      const initial = initialState?.get(name);
      this.state.set(name, toOrtTensor({ data: initial && initial.length === parameter.size ? initial : new Float32Array(parameter.size), shape: parameter.shape }));
    }
  }

  static async create(net: Module, given: TrainStepOptions & { initialOptimizerState?: Map<string, Float32Array> }): Promise<TrainStep> {
    net.nameParameters();
    // ORT's CPU NCHWc kernels where this engine has them (depthwise convs train faster on them).
    const onCpu = (given.session?.device ?? ortEngine().defaultDevice) === 'cpu';
    const options = { ...given, nchwcBlock: given.nchwcBlock ?? (onCpu ? await nchwcBlockSize() : 0) };
    const stages = stagesOf(net);
    const split = options.splitFrozenPrefix === false ? 0 : firstTrainableStage(stages, options.bnTraining);
    const prefixStages = stages.slice(0, split);
    const suffix = stages.slice(split);
    let prefix: InferenceRunner | null = null;
    let suffixInputShape = options.inputShape;
    if (options.prefixInt8 && prefixStages.length === 0) {
      throw new Error(`int8 runs frozen layers only, and every stage from ${stages[0]![0]} on trains here`);
    }
    if (prefixStages.length > 0) {
      // The training graph runs right after the prefix: the prefix's threads must not spin into it.
      // ResNet-50 layer4 + fc b8, three alternating rounds (2026-12-01, AMD EPYC AVX-512, quiet):
      // 671/639/634 ms spinning, 601/619/575 without; fc only (a one-layer training graph) and a
      // single training session (demo model) were unchanged.
      prefix = await InferenceRunner.create(prefixStages, options.inputShape, { spinning: false, ...options.session, int8: options.prefixInt8 });
      const probe = await prefix.run(new Float32Array(options.inputShape.reduce((a, b) => a * b, 1)), 1);
      suffixInputShape = probe.shape.slice(1);
    }
    const probe = buildTrainingGraph(suffix, { ...options, batchSize: 1, inputShape: suffixInputShape });
    return new TrainStep(suffix, options, prefix, suffixInputShape, probe, options.initialOptimizerState);
  }

  get steps(): number {
    return this.stepCount;
  }

  /** Number of trailing stages in the training graph (the rest is the frozen prefix). */
  get suffixStageCount(): number {
    return this.suffix.length;
  }

  /** Counts a step already taken before a resume (Adam's bias correction depends on it). */
  advanceStepCounter(): void {
    this.stepCount += 1;
  }

  /** Current weights, statistics and optimizer state by name, in graph order. */
  currentTensors(): Array<[string, Float32Array]> {
    return [...this.state].map(([name, tensor]) => [name, tensor.data as Float32Array]);
  }

  private session(batch: number): Promise<Session> {
    let session = this.sessions.get(batch);
    if (!session) {
      const { graph } = buildTrainingGraph(this.suffix, { ...this.options, batchSize: batch, inputShape: this.suffixInputShape });
      for (const [name, shape] of Object.entries(this.options.extraInputs ?? {})) {
        if (!graph.inputs.some((i) => i.name === name)) throw new Error(`extra input ${name} (shape [${shape.join(', ')}]) is not used by the loss`);
      }
      // ORT's memory pattern plans one block for all of a run's intermediates; without it the arena
      // reuses freed buffers. Measured peak RSS, pattern on -> off, same step times (A/B in one
      // process, bench/ab-step.js): ResNet-18 224 b16 1891 -> 1221 MB, ResNet-50 224 b8 2667 ->
      // 1767 MB, the demo's small model b64 537 -> 349 MB; medians 327 vs 332 ms on the last.
      session = Session.create(serializeGraph(graph, 'train_step'), { memPattern: false, ...this.options.session });
      this.sessions.set(batch, session);
    }
    return session;
  }

  /** The frozen prefix's output for a batch of images (what a feature cache stores). */
  async prefixActivations(images: Float32Array, batch: number): Promise<Float32Array> {
    if (!this.prefix) return images;
    return (await this.prefix.run(images, batch)).data;
  }

  /** One optimizer step on a batch of images. */
  async step(images: Float32Array, labels: ArrayLike<number>, learningRate: number, extra: Record<string, Float32Array> = {}): Promise<StepResult> {
    const batch = labels.length;
    return this.stepOnActivations(await this.prefixActivations(images, batch), labels, learningRate, extra);
  }

  /** One optimizer step from the prefix's activations (cached features skip the prefix entirely). */
  async stepOnActivations(activations: Float32Array, labels: ArrayLike<number>, learningRate: number, extra: Record<string, Float32Array> = {}): Promise<StepResult> {
    const batch = labels.length;
    const session = await this.session(batch);
    this.stepCount += 1;
    const feeds: Record<string, OrtTensor> = Object.fromEntries(this.state);
    feeds.input = toOrtTensor({ data: activations, shape: [batch, ...this.suffixInputShape] });
    feeds.labels = toOrtTensor({ data: BigInt64Array.from(Array.from(labels, (l) => BigInt(l))), shape: [batch] });
    for (const [name, value] of Object.entries(stepScalarValues(this.options.optimizer as OptimizerConfig, learningRate, this.stepCount))) {
      feeds[name] = toOrtTensor({ data: Float32Array.of(value), shape: [] });
    }
    for (const [name, shape] of Object.entries(this.options.extraInputs ?? {})) {
      const data = extra[name];
      if (!data) throw new Error(`missing extra input ${name}`);
      feeds[name] = toOrtTensor({ data, shape: [batch, ...shape] });
    }
    const outputs = await session.run(feeds);
    for (const name of this.state.keys()) {
      const updated = outputs[`${name}__new`];
      if (updated) this.state.set(name, updated);
    }
    return {
      loss: (outputs.loss!.data as Float32Array)[0]!,
      logits: outputs.logits!.data as Float32Array,
      features: outputs.features?.data as Float32Array | undefined,
    };
  }

  /** Hands the current weights and statistics to the network's parameters. */
  syncToNetwork(): void {
    for (const p of [...this.trainable, ...this.statistics]) p.data = this.state.get(p.name)!.data as Float32Array;
  }

  /** Optimizer state by name (`moments.fc.weight`...), for checkpoints and resume. */
  optimizerState(): Map<string, Float32Array> {
    return new Map(this.optimizerSlots.map(({ name }) => [name, this.state.get(name)!.data as Float32Array]));
  }

  async release(): Promise<void> {
    for (const session of this.sessions.values()) await (await session).release();
    this.sessions.clear();
    await this.prefix?.release();
  }
}
