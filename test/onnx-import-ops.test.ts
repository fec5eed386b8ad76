/** Finite-difference checks of the ops the ONNX import added (Clip, Concat). */
import { test } from 'node:test';
import { clip } from '../src/graph/ops/clip.js';
import { concat } from '../src/graph/ops/concat.js';
import { gradcheck } from './helpers/gradcheck.js';

test('Clip (ReLU6 and one-sided): gradient only strictly inside the range', async () => {
  // Values kept well away from the kinks at 0 and 6.
  const values = Float32Array.from([-2.1, -0.7, 0.4, 1.3, 2.6, 3.8, 5.1, 5.7, 6.6, 7.9, -4.2, 9.3]);
  await gradcheck((g, [x]) => clip(g, x!, 0, 6), [{ name: 'x', shape: [3, 4], values }]);
  await gradcheck((g, [x]) => clip(g, x!, undefined, 3), [{ name: 'x', shape: [3, 4], values }]);
  await gradcheck((g, [x]) => clip(g, x!, -1, undefined), [{ name: 'x', shape: [3, 4], values }]);
});

test('Concat: each input gets its slice of the gradient', async () => {
  await gradcheck((g, [a, b]) => concat(g, [a!, b!], 1), [{ name: 'a', shape: [2, 3, 2] }, { name: 'b', shape: [2, 1, 2] }]);
  await gradcheck((g, [a, b, c]) => concat(g, [a!, b!, c!], -1), [{ name: 'a', shape: [2, 2] }, { name: 'b', shape: [2, 3] }, { name: 'c', shape: [2, 1] }]);
});

test('GlobalAveragePool of an imported feature-map cut', async () => {
  const { GlobalAveragePool } = await import('../src/onnx-import/model.js');
  const { InferenceContext } = await import('../src/nn/context.js');
  await gradcheck((g, [x]) => new GlobalAveragePool().forward(new InferenceContext(g), x!), [{ name: 'x', shape: [2, 3, 2, 3] }]);
});
