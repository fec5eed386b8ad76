import type { Callback, EpochEnd, TrainingRun } from './callback.js';

/** The MindSpore tutorial's log lines: per epoch the train loss, validation accuracy and times; the best accuracy at the end. */
export class TutorialLog implements Callback {
  constructor(private readonly bestPath?: string) {}

  onEpochEnd(run: TrainingRun, { record }: EpochEnd): void {
    run.log('-'.repeat(20));
    run.log(`Epoch: [${String(record.epoch).padStart(3)}/${String(run.epochs).padStart(3)}], Average Train Loss: [${record.trainLoss.toFixed(3)}], Accuracy: [${record.valAccuracy.toFixed(3)}]`);
    run.log(`epoch time: ${record.epochMs.toFixed(3)} ms, per step time: ${record.stepMs.toFixed(3)} ms`);
  }

  onTrainEnd(run: TrainingRun): void {
    run.log('='.repeat(80));
    run.log(`End of validation the best Accuracy is: ${run.state.bestAccuracy.toFixed(3)}, save the best ckpt file in ${this.bestPath ?? '(not saved)'}`);
  }
}
