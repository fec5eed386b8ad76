import { SingleBar } from 'cli-progress';
import type { StepResult } from '../../runtime/train-step.js';
import type { Callback, TrainBatch, TrainingRun } from './callback.js';

/** A per-epoch bar on stderr with the last step's loss; cleared when the epoch's batches are done. */
export class ProgressBar implements Callback {
  private bar: SingleBar | null = null;

  onEpochBegin(run: TrainingRun, epoch: number): void {
    this.bar = new SingleBar({ format: `epoch ${epoch}/${run.epochs} [{bar}] {value}/{total} loss {loss}`, stream: process.stderr, hideCursor: true, clearOnComplete: true });
    this.bar.start(run.stepsPerEpoch, 0, { loss: '-' });
  }

  onBatchEnd(_run: TrainingRun, batch: TrainBatch, result: StepResult): void {
    this.bar?.update(batch.step, { loss: result.loss.toFixed(3) });
  }

  onValidateBegin(): void {
    this.stop();
  }

  onTrainEnd(): void {
    this.stop();
  }

  private stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
