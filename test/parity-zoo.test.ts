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
import { ErrorLog, readParityFixture, referenceWeights, type ResNetReference } from './helpers/parity.js';
import { assertTrainingStep, evalLogitsError, trainingStepOutputs } from './helpers/training-step.js';

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
 * activation inputs from the kinks in units of torch's float32 error, and how far flipping the
 * worst near one would move a gradient (`kinks`); MobileNetV2's reference keeps every input at
 * least 10x away (its BNs before ReLU6 start at beta 3), MobileNetV3's inputs use seeds at which
 * no flip matters.
 */
const KINK_SAFE = new Set(['mobilenet_v2']);
/** A flip of one near-kink input (the fixture's `kinks.worstGradientChangeFromOneFlip`) must stay well inside the bound. */
const FLIP_IMPACT_LIMIT = GRADIENT_TOLERANCE / 2;
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

type Reference = Omit<ResNetReference, 'model'> & { model: string; kinks?: { within10xFloat32Error: number; minMarginOverFloat32Error: number | null; worstGradientChangeFromOneFlip?: number } };

function buildNet(reference: Reference): FeaturesClassifier {
  const net = ZOO_FACTORIES[reference.model]!({ numClasses: reference.numClasses, dropout: 0, stochasticDepthProb: 0 });
  const report = loadParamIntoNet(net, referenceWeights(reference as ResNetReference), { strict: true, convention: 'torchvision' });
  assert.equal(report.loaded.length, reference.tensors.length);
  return net;
}

for (const model of MODELS) {
  const reference = readParityFixture<Reference>(`${model}.json`);
  describe(`${model} matches torchvision (float64 reference, input ${reference.input.shape.join('x')})`, () => {
    const errors = new ErrorLog();
    const net = buildNet(reference);

    test('eval-mode logits', async () => {
      const { shape, error } = await evalLogitsError(net, reference, THREADS);
      assert.deepEqual(shape, [reference.input.shape[0], reference.numClasses]);
      assert.ok(error <= LOGIT_TOLERANCE, `eval logits differ by ${error} of the logit scale`);
    });

    test('one training step in BN training mode: loss, gradients, updated weights and running statistics', async () => {
      if (KINK_SAFE.has(model)) assert.equal(reference.kinks?.within10xFloat32Error, 0, `${model}.json: activation inputs within 10x float32 rounding of a kink make the reference step ambiguous`);
      const flipImpact = reference.kinks?.worstGradientChangeFromOneFlip ?? 0;
      assert.ok(flipImpact <= FLIP_IMPACT_LIMIT, `${model}.json: one activation input within float32 rounding of a kink would move a gradient by ${flipImpact} if rounded across it (regenerate the fixture at a better-conditioned point)`);
      const outputs = await trainingStepOutputs(net, reference, THREADS);
      const gradients = assertTrainingStep(outputs, reference, errors, { logits: LOGIT_TOLERANCE, update: UPDATE_TOLERANCE, gradient: GRADIENT_TOLERANCE });
      assert.equal(gradients, net.trainableParams().length, 'every trainable weight was compared');
      const k = reference.kinks;
      const kinks = k && k.minMarginOverFloat32Error !== null
        ? `\nkinks: nearest activation input ${k.minMarginOverFloat32Error.toFixed(1)}x torch's float32 error from one; ${k.within10xFloat32Error} within 10x, the worst of which flipped would move a gradient by ${(k.worstGradientChangeFromOneFlip ?? 0).toExponential(1)}`
        : '';
      console.log(`${model} parity, worst errors:\n${errors.summary()}${kinks}`);
    });
  });
}
