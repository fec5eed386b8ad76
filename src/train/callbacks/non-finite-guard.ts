import type { StepResult } from '../../runtime/train-step.js';
import { firstNonFinite, NonFiniteLossError, NonFiniteStateError } from '../health.js';
import type { Callback, TrainBatch, TrainingRun } from './callback.js';

/**
 * Stops a run whose loss became NaN/Inf (naming the first non-finite tensor), and one whose
 * weights, BN statistics or optimizer state did while the loss stayed finite, before validation
 * and before any checkpoint of that epoch is written.
 */
export class NonFiniteGuard implements Callback {
  onBatchEnd(run: TrainingRun, batch: TrainBatch, result: StepResult): void {
    if (!Number.isFinite(result.loss)) throw new NonFiniteLossError(batch.epoch, batch.step, result.loss, firstNonFinite(run.step.currentTensors()));
  }

  onValidateBegin(run: TrainingRun, epoch: number, steps: number): void {
    // A last update can overflow while its loss is finite: never save such weights over good ones.
    const poisoned = firstNonFinite(run.step.currentTensors());
    if (poisoned) throw new NonFiniteStateError(epoch, steps, poisoned);
  }
}
