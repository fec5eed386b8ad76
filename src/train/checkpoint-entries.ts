/** Checkpoints of a network as entries and back, without files (the browser build uses these). */
import { OPTIMIZER_STATE_PREFIXES } from '../graph/optim.js';
import type { CheckpointContents, CheckpointEntry } from '../io/ckpt-format.js';
import type { Module } from '../nn/module.js';
import type { HostTensor } from '../tensor.js';

const STATE_ENTRY = 'tlkit_state';

/** What a run needs to continue where it stopped; stored inside the checkpoint so one rename commits all. */
export interface TrainingState {
  epoch: number;
  step: number;
  bestAccuracy: number;
  bestEpoch: number;
  history: unknown[];
}

function tensor(shape: readonly number[], data: Float32Array): HostTensor {
  return { dtype: 'float32', shape: [...shape], data };
}

/** A network's checkpoint entries (what saveNetCheckpoint writes; encodeCheckpoint turns them into bytes). */
export function netCheckpointEntries(net: Module, extra: { optimizer?: Map<string, Float32Array>; state?: TrainingState } = {}): Map<string, CheckpointEntry> {
  const entries = new Map<string, CheckpointEntry>();
  const shapes = new Map<string, readonly number[]>();
  for (const p of net.parameters()) {
    entries.set(p.name, tensor(p.shape, p.data));
    shapes.set(p.name, p.shape);
  }
  for (const [name, data] of extra.optimizer ?? []) {
    const paramName = name.slice(name.indexOf('.') + 1);
    entries.set(name, tensor(shapes.get(paramName) ?? [data.length], data));
  }
  if (extra.state) {
    entries.set('global_step', { dtype: 'int32', shape: [1], data: Int32Array.of(extra.state.step) });
    entries.set(STATE_ENTRY, JSON.stringify(extra.state));
  }
  return entries;
}

export interface LoadedTrainingCheckpoint {
  tensors: Map<string, HostTensor>;
  optimizer: Map<string, Float32Array>;
  state?: TrainingState;
}

/** Weights, optimizer moments and training state from a parsed checkpoint. */
export function trainingCheckpointFrom(contents: CheckpointContents, file: string): LoadedTrainingCheckpoint {
  const optimizer = new Map<string, Float32Array>();
  for (const [name, t] of contents.tensors) {
    if (OPTIMIZER_STATE_PREFIXES.some((prefix) => name.startsWith(`${prefix}.`)) && t.data instanceof Float32Array) optimizer.set(name, t.data);
  }
  const stateText = contents.strings.get(STATE_ENTRY);
  let state: TrainingState | undefined;
  if (stateText) {
    try {
      state = JSON.parse(stateText) as TrainingState;
    } catch {
      throw new Error(`${file}: the training state entry is not valid JSON`);
    }
  }
  return { tensors: contents.tensors, optimizer, state };
}
