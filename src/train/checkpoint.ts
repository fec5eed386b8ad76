import { readCheckpoint, writeCheckpoint } from '../io/ckpt.js';
import type { Module } from '../nn/module.js';
import { netCheckpointEntries, trainingCheckpointFrom, type LoadedTrainingCheckpoint, type TrainingState } from './checkpoint-entries.js';

export * from './checkpoint-entries.js';

/**
 * Saves a network as a MindSpore checkpoint (the tutorial's best.ckpt), with optimizer moments
 * and the training state when given. Written to a temporary file and renamed.
 */
export async function saveNetCheckpoint(file: string, net: Module, extra: { optimizer?: Map<string, Float32Array>; state?: TrainingState } = {}): Promise<void> {
  await writeCheckpoint(file, netCheckpointEntries(net, extra));
}

export async function readTrainingCheckpoint(file: string): Promise<LoadedTrainingCheckpoint> {
  return trainingCheckpointFrom(await readCheckpoint(file), file);
}
