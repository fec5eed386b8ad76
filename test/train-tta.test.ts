import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { Flatten } from '../src/nn/layers/activation.js';
import { Dense } from '../src/nn/layers/dense.js';
import { Sequential } from '../src/nn/layers/sequential.js';
import { seedInitializers } from '../src/nn/init.js';
import { evaluate } from '../src/train/evaluate.js';
import { softmax } from '../src/train/metrics.js';
import { flipHorizontal, TestTimeAugmentation, ttaViews } from '../src/train/tta.js';

test('the TTA views are the centre crop as given and its left-right mirror', () => {
  // Two samples of [1, 2, 3]: rows 0 1 2 / 3 4 5 and 6 7 8 / 9 10 11.
  const images = Float32Array.from({ length: 12 }, (_, i) => i);
  assert.deepEqual([...flipHorizontal(images, [1, 2, 3])], [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]);
  const views = ttaViews(images, [1, 2, 3]);
  assert.equal(views.length, 2);
  assert.equal(views[0], images);
  assert.deepEqual([...flipHorizontal(views[1]!, [1, 2, 3])], [...images], 'mirroring twice gives the image back');
});

test('TTA runs the model on each view and averages the predicted distributions', async () => {
  const seen: number[][] = [];
  // A fake model whose logits are the first and last pixel of each sample: the views give different answers.
  const model = {
    run: async (input: Float32Array, batch: number) => {
      seen.push([...input]);
      const per = input.length / batch;
      const data = new Float32Array(batch * 2);
      for (let n = 0; n < batch; n++) [data[2 * n], data[2 * n + 1]] = [input[n * per]!, input[n * per + per - 1]!];
      return { data, shape: [batch, 2] };
    },
  };
  const images = Float32Array.of(0, 1, 3, /* */ 2, 0, 0);
  const out = await new TestTimeAugmentation(model, [1, 1, 3]).run(images, 2);
  assert.deepEqual(seen, [[0, 1, 3, 2, 0, 0], [3, 1, 0, 0, 0, 2]]);
  assert.deepEqual(out.shape, [2, 2]);
  const expected = [0, 1].map((n) => {
    const plain = softmax([[0, 3], [2, 0]][n]!);
    const mirrored = softmax([[3, 0], [0, 2]][n]!);
    return plain.map((p, c) => (p + mirrored[c]!) / 2);
  });
  for (let n = 0; n < 2; n++) {
    const probabilities = softmax([out.data[2 * n]!, out.data[2 * n + 1]!]);
    probabilities.forEach((p, c) => assert.ok(Math.abs(p - expected[n]![c]!) < 1e-6, `sample ${n} class ${c}: ${p} vs ${expected[n]![c]}`));
  }
});

test('evaluate with tta: the probabilities are the mean of the plain and the mirrored images\' on a real network', async () => {
  seedInitializers(3);
  const net = new Sequential(new Flatten(), new Dense(12, 3));
  const images = Float32Array.from({ length: 4 * 12 }, (_, i) => (i * 37) % 11);
  const labels = Int32Array.of(0, 1, 2, 1);
  const dataset = (pixels: Float32Array) => new InMemoryDataset({ images: pixels, shape: [4, 1, 3, 4], labels, classNames: ['a', 'b', 'c'] });
  const loader = (pixels: Float32Array) => new DataLoader(dataset(pixels), { batchSize: 3 });
  const plain = await evaluate(net, loader(images), [1, 3, 4]);
  const mirrored = await evaluate(net, loader(flipHorizontal(images, [1, 3, 4])), [1, 3, 4]);
  const tta = await evaluate(net, loader(images), [1, 3, 4], { tta: true });
  tta.probabilities.forEach((row, n) => row.forEach((p, c) => {
    const mean = (plain.probabilities[n]![c]! + mirrored.probabilities[n]![c]!) / 2;
    assert.ok(Math.abs(p - mean) < 1e-5, `sample ${n} class ${c}: ${p} vs ${mean}`);
  }));
  assert.notDeepEqual(tta.probabilities, plain.probabilities);
});
