import * as path from 'node:path';
import { loadParamIntoNet } from '../../io/load-params.js';
import { writeCheckpoint } from '../../io/ckpt.js';
import { LatestWrites } from '../../util/latest-writes.js';
import { netCheckpointEntries, readTrainingCheckpoint } from '../checkpoint.js';
import { removeStaleTemporaries } from '../stale-temporaries.js';
import type { Callback, EpochEnd, TrainingRun } from './callback.js';

export interface CheckpointOptions {
  /** File name of the best checkpoint in the folder (default best.ckpt). */
  bestName?: string;
  /** Continue from last.ckpt: weights, optimizer moments and the training state. */
  resume?: boolean;
  /** Write last.ckpt after every epoch (default true). */
  last?: boolean;
}

/**
 * best.ckpt (by validation accuracy) and last.ckpt (with optimizer moments and the training
 * state, for resuming), each written atomically; on start, temporaries of killed writes are
 * removed and, when resuming, last.ckpt is loaded before the step is compiled.
 *
 * The files are written in the background while the next epoch runs (util/latest-writes.ts): an
 * epoch's checkpoint still waiting when the next epoch ends is replaced by the newer one, and every
 * write is done when training ends. The snapshot holds the epoch's arrays themselves, not copies:
 * training replaces parameter and optimizer arrays with each step's outputs (TrainStep.syncToNetwork),
 * it never writes into them.
 */
export class Checkpoints implements Callback {
  readonly bestPath: string;
  readonly lastPath: string;
  private readonly writes = new LatestWrites();

  constructor(readonly directory: string, private readonly options: CheckpointOptions = {}) {
    this.bestPath = path.join(directory, options.bestName ?? 'best.ckpt');
    this.lastPath = path.join(directory, 'last.ckpt');
  }

  async onTrainBegin(run: TrainingRun): Promise<void> {
    // Files a killed run left half-written; the real checkpoints are never among them.
    await removeStaleTemporaries(this.directory, [path.basename(this.bestPath), path.basename(this.lastPath)]);
    if (!this.options.resume) return;
    const saved = await readTrainingCheckpoint(this.lastPath).catch((error: Error) => {
      throw new Error(`cannot resume: ${error.message}`);
    });
    if (!saved.state) throw new Error(`cannot resume: ${this.lastPath} holds no training state`);
    loadParamIntoNet(run.net, saved.tensors, { strict: false });
    run.initialOptimizerState = saved.optimizer;
    run.state = saved.state;
    run.log(`Resuming from ${this.lastPath} after epoch ${run.state.epoch}`);
  }

  onEpochEnd(run: TrainingRun, { improved }: EpochEnd): void {
    if (improved) this.queue(this.bestPath, netCheckpointEntries(run.net));
    if (this.options.last === false) return;
    this.queue(this.lastPath, netCheckpointEntries(run.net, { optimizer: run.step.optimizerState(), state: run.state }));
  }

  /** Waits for the checkpoints still being written; a failed write fails the run here. */
  async onTrainEnd(): Promise<void> {
    await this.writes.flush();
  }

  /**
   * Waits for the writes still running, whatever their outcome: a run that fails in an epoch keeps the
   * epochs before it saved (fit calls this on its way out; the run's own error is the one to report).
   */
  async settled(): Promise<void> {
    await this.writes.flush().catch(() => undefined);
  }

  private queue(file: string, entries: ReturnType<typeof netCheckpointEntries>): void {
    this.writes.queue(file, () => writeCheckpoint(file, entries));
  }
}
