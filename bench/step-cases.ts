/** The training scenarios bench/profile-step.ts and bench/ab-step.ts build (the engine bench's shapes). */
import { resnet18, resnet50 } from '../src/models/resnet.js';
import { createModel } from '../src/models/registry.js';
import type { Module } from '../src/nn/module.js';
import { seedInitializers } from '../src/nn/init.js';
import { TrainStep } from '../src/runtime/train-step.js';
import type { SessionOptions } from '../src/runtime/session.js';

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
  /** The engine bench's "fc only": the whole body as the frozen prefix, a one-layer training graph. */
  'r50-fc': { net: () => { const net = resnet50({ numClasses: 2, padMode: 'pad', weightInit: he }); net.freeze().unfreeze('fc'); return net; }, image: [3, 224, 224], batch: 8, bnTraining: false },
  /** bench/zoo.ts's fine-tune shapes. */
  mnv3l: { net: () => createModel('mobilenet_v3_large', { numClasses: 2 }), image: [3, 224, 224], batch: 8, bnTraining: true },
  effb0: { net: () => createModel('efficientnet_b0', { numClasses: 2 }), image: [3, 224, 224], batch: 8, bnTraining: true },
  'r50-bn-frozen': { net: () => resnet50({ numClasses: 2, padMode: 'pad', weightInit: he }), image: [3, 224, 224], batch: 8, bnTraining: false },
};


/** A case's compiled step (formulations as engineTuning says at the time of the call) and one fixed batch. */
export async function caseStep(c: Case, session: SessionOptions): Promise<{ step: TrainStep; images: Float32Array; labels: number[] }> {
  seedInitializers(0);
  const net = c.net();
  if (!c.bnTraining) net.eval();
  const step = await TrainStep.create(net, { inputShape: c.image, optimizer: { kind: 'momentum', momentum: 0.9, weightDecay: 1e-4 }, bnTraining: c.bnTraining, session });
  const images = new Float32Array(c.batch * c.image.reduce((a, b) => a * b, 1)).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const labels = Array.from({ length: c.batch }, (_, i) => i % 2);
  return { step, images, labels };
}
