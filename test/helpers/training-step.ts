/**
 * The parity tests' one training step (test/parity-resnet.test.ts, test/parity-zoo.test.ts): the
 * graph TrainStep compiles, plus `grad:<name>` outputs, run on a fixture's input; and the
 * comparison of its loss, logits, gradients and updates with the float64 reference.
 */
import assert from 'node:assert/strict';
import { toCanonicalNames } from '../../src/io/names.js';
import { serializeGraph } from '../../src/graph/onnx.js';
import type { Module } from '../../src/nn/module.js';
import { buildTrainingGraph } from '../../src/runtime/compile.js';
import { InferenceRunner } from '../../src/runtime/inference.js';
import { nchwcBlockSize } from '../../src/runtime/nchwc.js';
import { Session, float32Output, type Feed } from '../../src/runtime/session.js';
import { stagesOf } from '../../src/runtime/stages.js';
import { ErrorLog, formulaTensor, l2Norm, maxErrorOnScale, maxSampleError, type ResNetReference } from './parity.js';

export type TrainingReference = Pick<ResNetReference, 'input' | 'labels' | 'optimizer' | 'trainLogits' | 'loss' | 'tensors'>;

/** Eval-mode logits of the fixture's input: [batch, classes] and their error on the reference's logit scale. */
export async function evalLogitsError(net: Module, reference: Pick<ResNetReference, 'input' | 'evalLogits'>, threads: number): Promise<{ shape: number[]; error: number }> {
  const runner = await InferenceRunner.create(net, reference.input.shape.slice(1), { threads });
  try {
    const out = await runner.run(formulaTensor(reference.input.shape, reference.input), reference.input.shape[0]!);
    return { shape: out.shape, error: maxErrorOnScale(out.data, reference.evalLogits) };
  } finally {
    await runner.release();
  }
}

/** torchvision name -> tlkit name, through the project's own name map. */
export function canonicalNames(reference: Pick<ResNetReference, 'tensors'>): Map<string, string> {
  const { params } = toCanonicalNames(new Map(reference.tensors.map((t) => [t.name, t.name])), 'torchvision');
  return new Map([...params].map(([canonical, torchName]) => [torchName, canonical]));
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Every output of one SGD-momentum step in BN training mode, by output name (logits, loss, grad:<name>, <name>__new). */
export async function trainingStepOutputs(net: Module, reference: TrainingReference, threads: number): Promise<Record<string, Float32Array>> {
  const [batch, ...imageShape] = reference.input.shape as [number, ...number[]];
  const built = buildTrainingGraph(stagesOf(net), {
    batchSize: batch, inputShape: imageShape, optimizer: { kind: 'momentum', momentum: reference.optimizer.momentum }, bnTraining: true, outputGradients: true,
    // As TrainStep on the CPU: ORT's NCHWc kernels where the ops use them (depthwise convs).
    nchwcBlock: await nchwcBlockSize(),
  });
  const feeds: Record<string, Feed> = {
    input: { data: formulaTensor(reference.input.shape, reference.input), shape: reference.input.shape },
    labels: { data: BigInt64Array.from(reference.labels.map(BigInt)), shape: [batch] },
    learning_rate: { data: Float32Array.of(reference.optimizer.learningRate), shape: [] },
  };
  for (const p of [...built.trainable, ...built.statistics]) feeds[p.name] = { data: p.data, shape: p.shape };
  for (const { name, parameter } of built.optimizerState) feeds[name] = { data: new Float32Array(parameter.data.length), shape: parameter.shape };
  const session = await Session.create(serializeGraph(built.graph, 'parity'), { threads });
  try {
    const outputs = await session.run(feeds);
    return Object.fromEntries(session.outputNames.map((name) => [name, float32Output(outputs, name)]));
  } finally {
    await session.release();
  }
}

export interface StepTolerances {
  /** Training logits (of the logit scale) and loss (relative). */
  logits: number;
  /** Sampled updated weights and BN running statistics (relative to the tensor's formula magnitude). */
  update: number;
  /** Gradient norms and sampled entries (relative; entries with the gradient's RMS as floor). */
  gradient: number;
}

/**
 * Asserts the step against the reference and notes the worst errors in `errors`; returns how many
 * gradients were compared. A gradient that is exactly zero in exact arithmetic (a BN bias feeding
 * a linear path into another training-mode BN, which subtracts every per-channel constant: float64
 * gives ~1e-16, float32 rounding noise) is judged against the model's typical gradient norm.
 */
export function assertTrainingStep(outputs: Record<string, Float32Array>, reference: TrainingReference, errors: ErrorLog, tolerances: StepTolerances): number {
  const toCanonical = canonicalNames(reference);
  const trainLogitError = errors.note('train logits (max abs / max |logit|)', maxErrorOnScale(outputs.logits!, reference.trainLogits), 'logits');
  assert.ok(trainLogitError <= tolerances.logits, `training-mode logits differ by ${trainLogitError} of the logit scale`);
  const lossError = errors.note('loss (relative)', Math.abs(outputs.loss![0]! - reference.loss) / reference.loss, 'loss');
  assert.ok(lossError <= tolerances.logits, `loss ${outputs.loss![0]} vs ${reference.loss}`);
  const typicalNorm = median(reference.tensors.filter((t) => t.gradNorm !== undefined).map((t) => t.gradNorm!));
  let gradients = 0;
  for (const t of reference.tensors) {
    const name = toCanonical.get(t.name)!;
    const updated = outputs[`${name}__new`];
    assert.ok(updated, `the training graph outputs ${name}__new`);
    // Updated values near zero are judged on the tensor's own magnitude (the formula's scale).
    const updateError = maxSampleError(updated, t.indices, t.updatedSample, t.offset !== 0 ? Math.abs(t.offset) : t.scale);
    const kind = t.gradSample ? 'updated weights' : 'updated BN running statistics';
    errors.note(`${kind} (relative)`, updateError, name);
    assert.ok(updateError <= tolerances.update, `${name}: ${kind} differ by ${updateError} (relative)`);
    if (!t.gradSample) continue;
    gradients++;
    const gradient = outputs[`grad:${name}`];
    assert.ok(gradient, `the training graph outputs grad:${name}`);
    const structurallyZero = t.gradNorm! < 1e-9 * typicalNorm;
    const normFloor = structurallyZero ? typicalNorm : t.gradNorm!;
    const normError = errors.note('gradient norms (relative)', Math.abs(l2Norm(gradient) - t.gradNorm!) / normFloor, name);
    assert.ok(normError <= tolerances.gradient, `${name}: gradient norm ${l2Norm(gradient)} vs ${t.gradNorm}`);
    const rmsFloor = structurallyZero ? typicalNorm / Math.sqrt(gradient.length) : t.gradRms!;
    const sampleError = errors.note('gradient entries (relative, floor = gradient RMS)', maxSampleError(gradient, t.indices, t.gradSample, rmsFloor), name);
    assert.ok(sampleError <= tolerances.gradient, `${name}: gradient entries differ by ${sampleError} (relative)`);
  }
  return gradients;
}
