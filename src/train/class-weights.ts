/**
 * Class weights for imbalanced data: 'balanced' is scikit-learn's compute_class_weight,
 * n_samples / (n_classes * count_c), so every class contributes equally to the mean loss.
 */
export function balancedClassWeights(labels: ArrayLike<number>, classes: number, classNames?: readonly string[]): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  const empty = counts.findIndex((n) => n === 0);
  if (empty >= 0) throw new Error(`balanced class weights: class ${classNames?.[empty] ?? empty} has no training examples`);
  return counts.map((n) => labels.length / (classes * n));
}
