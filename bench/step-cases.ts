/** The training scenarios bench/profile-step.ts and bench/ab-step.ts build (the engine bench's shapes). */
import { resnet18, resnet50 } from '../src/models/resnet.js';
import { createModel } from '../src/models/registry.js';
import type { Module } from '../src/nn/module.js';

export interface Case {
  net: () => Module;
  image: [number, number, number];
  batch: number;
  bnTraining: boolean;
}

const he = { kind: 'he-normal', mode: 'fan-out' } as const;
/** The demo's source model as the pipeline builds it (MindSpore's default 'same' padding). */
const demoModel = () => resnet18({ numClasses: 5, inChannels: 1, width: 16, smallInput: true, weightInit: he });
export const CASES: Record<string, Case> = {
  small: { net: () => resnet18({ numClasses: 5, inChannels: 1, width: 16, smallInput: true, padMode: 'pad', weightInit: he }), image: [1, 28, 28], batch: 64, bnTraining: true },
  'small-same': { net: demoModel, image: [1, 28, 28], batch: 64, bnTraining: true },
  /** The demo's target-task fits (scratch, fine-tune): 10 labelled images per step. */
  'small-b10': { net: demoModel, image: [1, 28, 28], batch: 10, bnTraining: true },
  r18: { net: () => resnet18({ numClasses: 2, padMode: 'pad', weightInit: he }), image: [3, 224, 224], batch: 16, bnTraining: true },
  r50: { net: () => resnet50({ numClasses: 2, padMode: 'pad', weightInit: he }), image: [3, 224, 224], batch: 8, bnTraining: true },
  /** The engine bench's "layer4 + fc": a frozen prefix (an inference graph) before the training graph. */
  'r50-layer4-fc': { net: () => { const net = resnet50({ numClasses: 2, padMode: 'pad', weightInit: he }); net.freeze().unfreeze('layer4', 'fc'); return net; }, image: [3, 224, 224], batch: 8, bnTraining: false },
  /** bench/zoo.ts's fine-tune shapes. */
  mnv3l: { net: () => createModel('mobilenet_v3_large', { numClasses: 2 }), image: [3, 224, 224], batch: 8, bnTraining: true },
  effb0: { net: () => createModel('efficientnet_b0', { numClasses: 2 }), image: [3, 224, 224], batch: 8, bnTraining: true },
  'r50-bn-frozen': { net: () => resnet50({ numClasses: 2, padMode: 'pad', weightInit: he }), image: [3, 224, 224], batch: 8, bnTraining: false },
};

