import { test } from 'node:test';
import { gradcheck } from './helpers/gradcheck.js';
import { classWeightedCrossEntropy, softTargetCrossEntropy } from '../src/graph/ops/loss.js';

// Rows that sum to 1, as mixup/cutmix targets do: a 0.7/0.3 blend of two classes, one pure label, one blend of a class with itself.
const blended = [0.7, 0.3, 0, /* */ 0, 0, 1, /* */ 0.25, 0, 0.75, /* */ 0, 1, 0];

test('soft-target cross-entropy (mixup/cutmix targets): finite differences, with and without class weights', async () => {
  await gradcheck((g, [logits]) => softTargetCrossEntropy(g, logits!, g.constant(blended, [4, 3])), [{ name: 'logits', shape: [4, 3] }]);
  await gradcheck((g, [logits]) => softTargetCrossEntropy(g, logits!, g.constant(blended, [4, 3]), { classWeights: [0.5, 2, 1.25] }), [{ name: 'logits', shape: [4, 3] }]);
  // Targets that do not sum to 1 per row still get the gradient of the formula.
  await gradcheck((g, [logits]) => softTargetCrossEntropy(g, logits!, g.constant([0.2, 0.5, 0.9, 0, 1, 2], [2, 3])), [{ name: 'logits', shape: [2, 3] }]);
});

test('class-weighted cross-entropy on labels: finite differences', async () => {
  await gradcheck((g, [logits]) => classWeightedCrossEntropy(g, logits!, g.constantInt64([2, 0, 1, 2, 2], [5]), [3, 1, 0.5]), [{ name: 'logits', shape: [5, 3] }]);
});
