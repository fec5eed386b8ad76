/**
 * MobileNetV2/V3, EfficientNet-B0 and ConvNeXt-T against torchvision (float64 reference written
 * by tools/make-reference.py): parameter names and shapes map 1:1 onto torchvision's state_dict
 * (B1-B3 too), eval logits, and one SGD-momentum step in BN training mode (loss, gradients,
 * updated weights and BN running statistics). Dropout and stochastic depth are off on both sides.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadParamIntoNet } from '../src/io/load-params.js';
import { toCanonicalNames } from '../src/io/names.js';
import { ZOO_FACTORIES } from '../src/models/zoo.js';
import type { FeaturesClassifier } from '../src/models/classifier.js';
import { serializeGraph } from '../src/graph/onnx.js';
import { buildTrainingGraph } from '../src/runtime/compile.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { Session, float32Output, type Feed } from '../src/runtime/session.js';
import { stagesOf } from '../src/runtime/stages.js';
import { ErrorLog, formulaTensor, l2Norm, maxErrorOnScale, maxSampleError, readParityFixture, referenceWeights, type ResNetReference } from './helpers/parity.js';

const LOGIT_TOLERANCE = 1e-4;
const GRADIENT_TOLERANCE = 1e-3;
/** An update is w - lr * grad, so it inherits the gradient's error where lr * grad dominates w. */
const UPDATE_TOLERANCE = 1e-3;
const THREADS = 2;
/**
 * The gradient of a training step is discontinuous wherever an activation's input sits on a kink
 * (ReLU6 at 0 and 6, Hardswish at -3 and 3): a float32 run may put an element within rounding of
 * a kink on either side, and in a small BN channel one such flip moves every upstream gradient by
 * up to 1e-2. tools/make-reference.py records, per fixture, how far the float64 forward keeps the
 * activation inputs from the kinks in units of torch's float32 error (`kinks`); MobileNetV2's
 * reference is built to keep every one at least 10x away (its BNs before ReLU6 start at beta 3).
 */
const KINK_SAFE = new Set(['mobilenet_v2']);
const MODELS = ['mobilenet_v3_small', 'mobilenet_v3_large', 'mobilenet_v2', 'efficientnet_b0', 'convnext_tiny'] as const;

interface NamesFixture {
  models: Record<string, Array<[string, number[]]>>;
}

test('every torchvision state_dict tensor maps to a tlkit parameter of the same shape, and back (8 models, 1000 classes)', () => {
  const { models } = readParityFixture<NamesFixture>('zoo_names.json');
  assert.equal(Object.keys(models).length, 8);
  for (const [model, entries] of Object.entries(models)) {
    const net = ZOO_FACTORIES[model]!({});
    const { params } = toCanonicalNames(new Map(entries.map(([name, shape]) => [name, shape])), 'torchvision');
    const ours = new Map(net.parameters().map((p) => [p.name, p.shape]));
    assert.equal(ours.size, entries.length, `${model}: ${ours.size} parameters vs ${entries.length} torchvision tensors`);
    for (const [canonical, shape] of params) {
      assert.deepEqual(ours.get(canonical), shape, `${model}: ${canonical}`);
    }
  }
});

type Reference = Omit<ResNetReference, 'model'> & { model: string; kinks?: { within10xFloat32Error: number; minMarginOverFloat32Error: number | null } };

function buildNet(reference: Reference): FeaturesClassifier {
  const net = ZOO_FACTORIES[reference.model]!({ numClasses: reference.numClasses, dropout: 0, stochasticDepthProb: 0 });
  const report = loadParamIntoNet(net, referenceWeights(reference as ResNetReference), { strict: true, convention: 'torchvision' });
  assert.equal(report.loaded.length, reference.tensors.length);
  return net;
}

const imageOf = (reference: Reference) => formulaTensor(reference.input.shape, reference.input);

async function trainingStepOutputs(net: FeaturesClassifier, reference: Reference): Promise<Record<string, Float32Array>> {
  const [batch, ...imageShape] = reference.input.shape as [number, ...number[]];
  const built = buildTrainingGraph(stagesOf(net), {
    batchSize: batch, inputShape: imageShape, optimizer: { kind: 'momentum', momentum: reference.optimizer.momentum }, bnTraining: true, outputGradients: true,
  });
  const feeds: Record<string, Feed> = {
    input: { data: imageOf(reference), shape: reference.input.shape },
    labels: { data: BigInt64Array.from(reference.labels.map(BigInt)), shape: [batch] },
    learning_rate: { data: Float32Array.of(reference.optimizer.learningRate), shape: [] },
  };
  for (const p of [...built.trainable, ...built.statistics]) feeds[p.name] = { data: p.data, shape: p.shape };
  for (const { name, parameter } of built.optimizerState) feeds[name] = { data: new Float32Array(parameter.data.length), shape: parameter.shape };
  const session = await Session.create(serializeGraph(built.graph, 'parity'), { threads: THREADS });
  try {
    const outputs = await session.run(feeds);
    return Object.fromEntries(session.outputNames.map((name) => [name, float32Output(outputs, name)]));
  } finally {
    await session.release();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

for (const model of MODELS) {
  const reference = readParityFixture<Reference>(`${model}.json`);
  describe(`${model} matches torchvision (float64 reference, input ${reference.input.shape.join('x')})`, () => {
    const { params } = toCanonicalNames(new Map(reference.tensors.map((t) => [t.name, t.name])), 'torchvision');
    const toCanonical = new Map([...params].map(([canonical, torchName]) => [torchName, canonical]));
    const errors = new ErrorLog();
    const net = buildNet(reference);

    test('eval-mode logits', async () => {
      const runner = await InferenceRunner.create(net, reference.input.shape.slice(1), { threads: THREADS });
      try {
        const out = await runner.run(imageOf(reference), reference.input.shape[0]!);
        assert.deepEqual(out.shape, [reference.input.shape[0], reference.numClasses]);
        const error = maxErrorOnScale(out.data, reference.evalLogits);
        assert.ok(error <= LOGIT_TOLERANCE, `eval logits differ by ${error} of the logit scale`);
      } finally {
        await runner.release();
      }
    });

    test('one training step in BN training mode: loss, gradients, updated weights and running statistics', async () => {
      if (KINK_SAFE.has(model)) assert.equal(reference.kinks?.within10xFloat32Error, 0, `${model}.json: activation inputs within 10x float32 rounding of a kink make the reference step ambiguous`);
      const outputs = await trainingStepOutputs(net, reference);
      const trainLogitError = errors.note('train logits (max abs / max |logit|)', maxErrorOnScale(outputs.logits!, reference.trainLogits), 'logits');
      assert.ok(trainLogitError <= LOGIT_TOLERANCE, `training-mode logits differ by ${trainLogitError} of the logit scale`);
      const lossError = errors.note('loss (relative)', Math.abs(outputs.loss![0]! - reference.loss) / reference.loss, 'loss');
      assert.ok(lossError <= LOGIT_TOLERANCE, `loss ${outputs.loss![0]} vs ${reference.loss}`);
      // A BN bias feeding a linear path into another training-mode BN has an exactly zero gradient
      // (the next BN subtracts every per-channel constant): float64 gives ~1e-16, float32 rounding noise.
      // Those are judged against the model's typical gradient norm instead of their own.
      const typicalNorm = median(reference.tensors.filter((t) => t.gradNorm !== undefined).map((t) => t.gradNorm!));
      if (process.env.PARITY_VERBOSE) {
        for (const t of reference.tensors) {
          const name = toCanonical.get(t.name)!;
          const grad = outputs[`grad:${name}`];
          const update = maxSampleError(outputs[`${name}__new`]!, t.indices, t.updatedSample, t.offset !== 0 ? Math.abs(t.offset) : t.scale);
          const entries = grad && t.gradSample ? maxSampleError(grad, t.indices, t.gradSample, t.gradRms!) : 0;
          console.log(`${name} update ${update.toExponential(1)} entries ${entries.toExponential(1)} torch32 ${(t.torchFloat32SampleError ?? 0).toExponential(1)}`);
        }
      }
      let gradients = 0;
      for (const t of reference.tensors) {
        const name = toCanonical.get(t.name)!;
        const updated = outputs[`${name}__new`];
        assert.ok(updated, `the training graph outputs ${name}__new`);
        const updateError = maxSampleError(updated, t.indices, t.updatedSample, t.offset !== 0 ? Math.abs(t.offset) : t.scale);
        const kind = t.gradSample ? 'updated weights' : 'updated BN running statistics';
        errors.note(`${kind} (relative)`, updateError, name);
        assert.ok(updateError <= UPDATE_TOLERANCE, `${name}: ${kind} differ by ${updateError} (relative)`);
        if (!t.gradSample) continue;
        gradients++;
        const gradient = outputs[`grad:${name}`];
        assert.ok(gradient, `the training graph outputs grad:${name}`);
        const structurallyZero = t.gradNorm! < 1e-9 * typicalNorm;
        const normFloor = structurallyZero ? typicalNorm : t.gradNorm!;
        const normError = errors.note('gradient norms (relative)', Math.abs(l2Norm(gradient) - t.gradNorm!) / normFloor, name);
        assert.ok(normError <= GRADIENT_TOLERANCE, `${name}: gradient norm ${l2Norm(gradient)} vs ${t.gradNorm}`);
        const rmsFloor = structurallyZero ? typicalNorm / Math.sqrt(gradient.length) : t.gradRms!;
        const sampleError = errors.note('gradient entries (relative, floor = gradient RMS)', maxSampleError(gradient, t.indices, t.gradSample, rmsFloor), name);
        assert.ok(sampleError <= GRADIENT_TOLERANCE, `${name}: gradient entries differ by ${sampleError} (relative)`);
      }
      assert.equal(gradients, net.trainableParams().length, 'every trainable weight was compared');
      const kinks = reference.kinks ? `\nkinks: nearest activation input ${reference.kinks.minMarginOverFloat32Error?.toFixed(1) ?? '-'}x torch's float32 error from one` : '';
      console.log(`${model} parity, worst errors:\n${errors.summary()}${kinks}`);
    });
  });
}
