/**
 * fastai's learning-rate finder: train for a short while with the rate growing exponentially
 * from `startLr` to `endLr`, record the smoothed loss, stop when it diverges, and suggest the
 * rate in the middle of the longest stretch where the loss keeps falling ("valley"). The
 * network's weights are put back afterwards.
 */
import type { Module } from '../nn/module.js';
import type { StepResult } from '../runtime/train-step.js';
import type { Callback, TrainBatch, TrainingRun } from './callbacks/callback.js';
import { fit, type FitOptions } from './fit.js';
import { NonFiniteLossError, NonFiniteStateError } from './health.js';

export interface LrFindOptions {
  startLr?: number;
  endLr?: number;
  /** Steps of the sweep (fastai: 100); fewer when the loss diverges first. */
  iterations?: number;
  /** Stop once the smoothed loss exceeds this many times its lowest value. */
  divergeFactor?: number;
  /** Smoothing of the recorded loss (an exponential moving average, bias-corrected). */
  beta?: number;
}

export interface LrFindResult {
  learningRates: number[];
  /** Smoothed loss at each rate. */
  losses: number[];
  suggestion: number;
  /** Why the sweep ended: all iterations ran, or the loss diverged. */
  ended: 'iterations' | 'diverged';
}

/** The rate of step `i` of `n` on the exponential sweep. */
export function sweepRate(i: number, n: number, startLr: number, endLr: number): number {
  return startLr * Math.pow(endLr / startLr, i / Math.max(1, n - 1));
}

/**
 * fastai's `valley`: the longest decreasing run of the loss (longest decreasing subsequence), and
 * the rate half-way through its middle third (start + len/3 + len/6). The first tenth and the last
 * five points are left out, as fastai does.
 */
export function valleySuggestion(learningRates: readonly number[], losses: readonly number[]): number {
  const skipStart = Math.floor(learningRates.length / 10);
  const end = Math.max(skipStart + 1, learningRates.length - 5);
  const lrs = learningRates.slice(skipStart, end);
  const values = losses.slice(skipStart, end);
  const n = values.length;
  if (n === 0) throw new Error('the learning-rate sweep recorded too few steps to suggest a rate; give it more iterations or data');
  const runs = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) if (values[i]! < values[j]! && runs[i]! < runs[j]! + 1) runs[i] = runs[j]! + 1;
    if (runs[maxEnd]! < runs[i]!) {
      maxEnd = i;
      maxStart = maxEnd - runs[maxEnd]!;
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const index = maxStart + Math.floor(sections) + Math.floor(sections / 2);
  return lrs[Math.min(n - 1, index)]!;
}

/** Drives the sweep from inside fit: sets each step's rate, records the loss, stops on divergence. */
class LrSweep implements Callback {
  readonly learningRates: number[] = [];
  readonly losses: number[] = [];
  ended: LrFindResult['ended'] = 'iterations';
  private average = 0;
  private best = Infinity;

  constructor(private readonly options: Required<LrFindOptions>) {}

  onBatchBegin(_run: TrainingRun, batch: TrainBatch): void {
    batch.learningRate = sweepRate(this.learningRates.length, this.options.iterations, this.options.startLr, this.options.endLr);
  }

  onBatchEnd(run: TrainingRun, batch: TrainBatch, result: StepResult): void {
    const k = this.learningRates.length + 1;
    this.average = this.options.beta * this.average + (1 - this.options.beta) * result.loss;
    const smoothed = this.average / (1 - Math.pow(this.options.beta, k));
    this.learningRates.push(batch.learningRate);
    this.losses.push(smoothed);
    this.best = Math.min(this.best, smoothed);
    if (smoothed > this.options.divergeFactor * this.best) {
      this.ended = 'diverged';
      run.stop('the loss diverged');
    } else if (k >= this.options.iterations) {
      run.stop('the sweep is complete');
    }
  }
}

export type LrFindFitOptions = Omit<FitOptions, 'epochs' | 'lr' | 'schedule' | 'val' | 'checkpointDir' | 'resume' | 'onEpochEnd' | 'signal'>;

export async function findLearningRate(net: Module, options: LrFindFitOptions & LrFindOptions): Promise<LrFindResult> {
  const settings: Required<LrFindOptions> = {
    startLr: options.startLr ?? 1e-7, endLr: options.endLr ?? 10, iterations: options.iterations ?? 100,
    divergeFactor: options.divergeFactor ?? 4, beta: options.beta ?? 0.98,
  };
  if (!(settings.startLr > 0 && settings.endLr > settings.startLr)) throw new Error(`the sweep needs 0 < startLr < endLr, got ${settings.startLr} and ${settings.endLr}`);
  const sweep = new LrSweep(settings);
  const saved = net.parameters().map((p) => [p, Float32Array.from(p.data)] as const);
  try {
    await fit(net, {
      ...options, epochs: Math.ceil(settings.iterations / options.train.steps), lr: settings.startLr, log: options.log ?? (() => undefined),
      callbacks: [...(options.callbacks ?? []), sweep],
    });
  } catch (error) {
    // A rate high enough to overflow ends the sweep like any divergence.
    if (!(error instanceof NonFiniteLossError || error instanceof NonFiniteStateError)) throw error;
    sweep.ended = 'diverged';
  } finally {
    for (const [parameter, data] of saved) parameter.data = data;
  }
  return { learningRates: sweep.learningRates, losses: sweep.losses, suggestion: valleySuggestion(sweep.learningRates, sweep.losses), ended: sweep.ended };
}
