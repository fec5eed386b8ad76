/**
 * The training loop's events, like Keras' Callback/CallbackList and fastai's Callback: `fit`
 * fires them in order and everything that is not the loop itself (logging, progress,
 * checkpoints, guards, early stopping, mixup) is a callback that reacts to them.
 */
import type { Module } from '../../nn/module.js';
import type { StepResult, TrainStep } from '../../runtime/train-step.js';
import type { TrainingState } from '../checkpoint.js';
import type { Evaluation } from '../evaluate.js';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy: number;
  epochMs: number;
  stepMs: number;
  learningRate: number;
  /**
   * Of epochMs, the time training steps waited for the loader's next batch: near 0 while decoding keeps
   * ahead of the step (it prefetches on other threads), the epoch's whole decode time without overlap.
   * Absent in histories written before it was recorded.
   */
  dataWaitMs?: number;
  /** CPU time the process used during the epoch, all threads (Node): cpuMs / epochMs is the cores kept busy. */
  cpuMs?: number;
}

/** One training batch as the step will see it; onBatchBegin may replace `images` or add `feeds`. */
export interface TrainBatch {
  indices: Int32Array;
  labels: Int32Array;
  /** The batch's images; absent when the frozen prefix's outputs come from the feature cache. */
  images?: Float32Array;
  /** Extra inputs of the training graph for this batch (soft targets, teacher embeddings). */
  feeds: Record<string, Float32Array>;
  /** 1-based epoch and step within the epoch. */
  epoch: number;
  step: number;
  learningRate: number;
}

export interface EpochEnd {
  record: EpochRecord;
  evaluation?: Evaluation;
  /** This epoch's validation accuracy is the best so far (best.ckpt is written for it). */
  improved: boolean;
}

/** How a run stopped early: `interrupt` (Ctrl-C: the current epoch is abandoned) or a callback's decision. */
export interface StopRequest {
  reason: string;
  kind: 'interrupt' | 'callback';
}

/** What callbacks see of a run: fastai's Learner, Keras' `self.model` + logs. */
export interface TrainingRun {
  readonly net: Module;
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  /** Epoch, global step, best accuracy and history; saved in last.ckpt and restored on resume. */
  state: TrainingState;
  /**
   * Optimizer moments the compiled step starts from (set by a resume in onTrainBegin; the step is
   * compiled after onTrainBegin, so weights loaded there are the ones trained).
   */
  initialOptimizerState?: Map<string, Float32Array>;
  /** The compiled step; available from onEpochBegin on. */
  readonly step: TrainStep;
  log(line: string): void;
  /** Ends training: after the current batch when called from a batch event, else after this epoch. */
  stop(reason: string, kind?: StopRequest['kind']): void;
  readonly stopRequest: StopRequest | undefined;
}

export interface Callback {
  onTrainBegin?(run: TrainingRun): void | Promise<void>;
  /** `epoch` counts from 1, as the log does. */
  onEpochBegin?(run: TrainingRun, epoch: number): void | Promise<void>;
  onBatchBegin?(run: TrainingRun, batch: TrainBatch): void | Promise<void>;
  onBatchEnd?(run: TrainingRun, batch: TrainBatch, result: StepResult): void | Promise<void>;
  /** Every batch of the epoch ran and the network holds the new weights; validation comes next. */
  onValidateBegin?(run: TrainingRun, epoch: number, steps: number): void | Promise<void>;
  onEpochEnd?(run: TrainingRun, end: EpochEnd): void | Promise<void>;
  /** After the last epoch, an early stop or an interrupt (not after an error). */
  onTrainEnd?(run: TrainingRun): void | Promise<void>;
}

type EventName = keyof Callback;

/** Calls each callback's handler for an event, in list order, one after the other. */
export class CallbackList {
  constructor(readonly callbacks: Callback[]) {}

  private async fire<E extends EventName>(event: E, ...args: Parameters<NonNullable<Callback[E]>>): Promise<void> {
    for (const callback of this.callbacks) {
      const handler = callback[event] as ((...a: typeof args) => void | Promise<void>) | undefined;
      if (handler) await handler.apply(callback, args);
    }
  }

  onTrainBegin(run: TrainingRun) { return this.fire('onTrainBegin', run); }
  onEpochBegin(run: TrainingRun, epoch: number) { return this.fire('onEpochBegin', run, epoch); }
  onBatchBegin(run: TrainingRun, batch: TrainBatch) { return this.fire('onBatchBegin', run, batch); }
  onBatchEnd(run: TrainingRun, batch: TrainBatch, result: StepResult) { return this.fire('onBatchEnd', run, batch, result); }
  onValidateBegin(run: TrainingRun, epoch: number, steps: number) { return this.fire('onValidateBegin', run, epoch, steps); }
  onEpochEnd(run: TrainingRun, end: EpochEnd) { return this.fire('onEpochEnd', run, end); }
  onTrainEnd(run: TrainingRun) { return this.fire('onTrainEnd', run); }
}
