import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tlkit from '../src/index.js';

test('the package entry exports what the README uses, and the pieces work alone', async () => {
  for (const name of ['resnet50', 'loadModel', 'replaceHead', 'trainFixedFeature', 'fineTune', 'fit', 'ImageFolder', 'DataLoader',
    'trainTransforms', 'evalTransforms', 'InferenceRunner', 'TrainStep', 'Graph', 'gradients', 'readCheckpoint', 'readSafetensors',
    'loadParamIntoNet', 'extractFeatures', 'KNearestNeighbours', 'rkdLoss', 'runPipeline', 'download', 'extractZip'] as const) {
    assert.equal(typeof tlkit[name], 'function', `${name} is exported`);
  }
  assert.equal(typeof tlkit.ops.conv2d, 'function');
  assert.equal(typeof tlkit.report.renderPredictionGrid, 'function');

  // The graph and the runner on their own: y = relu(x) * 2 and its gradient, through ORT.
  const g = new tlkit.Graph();
  const x = g.input('x', [4], 'float32', { requiresGrad: true });
  const y = tlkit.ops.scale(g, tlkit.ops.relu(g, x), 2);
  const [dx] = tlkit.gradients(g, y, [x], g.constant([1, 1, 1, 1], [4]));
  g.output(y, 'y');
  g.output(dx!, 'dx');
  const session = await tlkit.Session.create(tlkit.serializeGraph(g), { threads: 1 });
  const out = await session.run({ x: { data: Float32Array.of(-1, 0.5, 2, -3), shape: [4] } });
  await session.release();
  assert.deepEqual(Array.from(out.y!.data as Float32Array), [0, 1, 4, 0]);
  assert.deepEqual(Array.from(out.dx!.data as Float32Array), [0, 2, 2, 0]);
});
