import { BatchNorm2d } from '../nn/layers/batchnorm2d.js';
import type { Module } from '../nn/module.js';

/** A network that lists its steps in order (ResNet does); any other module is one step. */
export interface Staged {
  stages(): Array<[string, Module]>;
}

export function isStaged(net: Module): net is Module & Staged {
  return typeof (net as Partial<Staged>).stages === 'function';
}

export function stagesOf(net: Module): Array<[string, Module]> {
  return isStaged(net) ? net.stages() : [['', net]];
}

/** Does this step need a training graph: a trainable weight, or BN updating its statistics? */
export function needsTraining(stage: Module, bnTraining: boolean): boolean {
  if (stage.namedParameters().some(([, p]) => p.kind === 'weight' && p.requiresGrad)) return true;
  return bnTraining && stage.namedModules().some(([, m]) => m instanceof BatchNorm2d && m.training);
}

/** Index of the first step that must be trained; everything before it is a frozen prefix. */
export function firstTrainableStage(stages: Array<[string, Module]>, bnTraining: boolean): number {
  const index = stages.findIndex(([, stage]) => needsTraining(stage, bnTraining));
  if (index < 0) throw new Error('nothing to train: every parameter is frozen (unfreeze some, e.g. fc.*)');
  return index;
}

export function stageIndex(stages: Array<[string, Module]>, name: string): number {
  const index = stages.findIndex(([n]) => n === name || n.startsWith(`${name}.`));
  if (index < 0) throw new Error(`no stage named ${name}; stages are ${stages.map(([n]) => n).join(', ')}`);
  return index;
}
