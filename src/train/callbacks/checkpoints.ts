import * as path from 'node:path';
import { loadParamIntoNet } from '../../io/load-params.js';
import { readTrainingCheckpoint, saveNetCheckpoint } from '../checkpoint.js';
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
 */
export class Checkpoints implements Callback {
  readonly bestPath: string;
  readonly lastPath: string;

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

  async onEpochEnd(run: TrainingRun, { improved }: EpochEnd): Promise<void> {
    if (improved) await saveNetCheckpoint(this.bestPath, run.net);
    if (this.options.last === false) return;
    await saveNetCheckpoint(this.lastPath, run.net, { optimizer: run.step.optimizerState(), state: run.state });
  }
}
