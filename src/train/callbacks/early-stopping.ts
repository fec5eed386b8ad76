import type { Parameter } from '../../nn/parameter.js';
import type { Callback, EpochEnd, TrainingRun } from './callback.js';

export interface EarlyStoppingOptions {
  /** Epochs without improvement before training stops. */
  patience: number;
  /** What must improve: validation accuracy (higher is better, the default) or validation loss. */
  monitor?: 'accuracy' | 'loss';
  /** Smallest change that counts as an improvement. */
  minDelta?: number;
  /** Put back the weights of the best epoch when stopping (default true). */
  restoreBest?: boolean;
}

/** Keras' EarlyStopping: stops when the monitored validation metric stops improving and restores the best weights. */
export class EarlyStopping implements Callback {
  private best: number | undefined;
  private bestEpoch = 0;
  private waited = 0;
  private bestWeights: Array<[Parameter, Float32Array]> | undefined;
  /** The epoch after which training stopped, if it did. */
  stoppedAfter: number | undefined;

  constructor(private readonly options: EarlyStoppingOptions) {
    if (!Number.isInteger(options.patience) || options.patience < 1) throw new Error(`early stopping: patience must be a positive integer, got ${options.patience}`);
  }

  private get monitor(): 'accuracy' | 'loss' {
    return this.options.monitor ?? 'accuracy';
  }

  private improves(value: number): boolean {
    const delta = this.options.minDelta ?? 0;
    if (this.best === undefined) return true;
    return this.monitor === 'loss' ? value < this.best - delta : value > this.best + delta;
  }

  onEpochEnd(run: TrainingRun, { record }: EpochEnd): void {
    const value = this.monitor === 'loss' ? record.valLoss : record.valAccuracy;
    if (value === undefined) throw new Error('early stopping on the validation loss needs validation data');
    if (this.improves(value)) {
      this.best = value;
      this.bestEpoch = record.epoch;
      this.waited = 0;
      if (this.options.restoreBest ?? true) this.bestWeights = run.net.parameters().map((p) => [p, Float32Array.from(p.data)]);
      return;
    }
    this.waited++;
    if (this.waited < this.options.patience) return;
    this.stoppedAfter = record.epoch;
    const restoring = this.bestWeights ? `; restoring the weights of epoch ${this.bestEpoch}` : '';
    run.log(`Early stopping after epoch ${record.epoch}: validation ${this.monitor} did not improve for ${this.options.patience} epoch${this.options.patience > 1 ? 's' : ''} (best ${this.best!.toFixed(3)} at epoch ${this.bestEpoch})${restoring}`);
    run.stop(`validation ${this.monitor} stopped improving`);
  }

  onTrainEnd(): void {
    if (this.stoppedAfter === undefined || !this.bestWeights) return;
    for (const [parameter, data] of this.bestWeights) parameter.data = data;
  }
}
