import type { Callback, TrainingRun } from './callback.js';

/** Ctrl-C: stops after the current step; the unfinished epoch is not recorded and the checkpoints keep the last complete one. */
export class StopOnAbort implements Callback {
  constructor(private readonly signal: AbortSignal) {}

  onBatchEnd(run: TrainingRun): void {
    if (this.signal.aborted) run.stop('interrupted', 'interrupt');
  }
}
