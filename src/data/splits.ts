import { Dataset, DatasetView } from './dataset.js';
import { mulberry32, shuffleInPlace } from './random.js';

/** Positions of each class's examples, in dataset order. */
export function indicesByClass(dataset: Dataset): number[][] {
  const byClass: number[][] = dataset.classNames.map(() => []);
  for (let i = 0; i < dataset.length; i++) byClass[dataset.labelAt(i)]!.push(i);
  return byClass;
}

function classIndex(dataset: Dataset, name: string | number): number {
  const index = typeof name === 'number' ? name : dataset.classNames.indexOf(name);
  if (index < 0 || index >= dataset.classNames.length) {
    throw new Error(`unknown class ${JSON.stringify(name)}; classes are ${dataset.classNames.join(', ')}`);
  }
  return index;
}

/**
 * Splits by class, as transfer learning needs: `target` classes on one side, the rest on the other. Each
 * side is relabelled 0..k-1 in the order of the original labels and keeps the original class names.
 */
export function splitByClass(
  dataset: Dataset,
  targetClasses: readonly (string | number)[],
): { source: DatasetView; target: DatasetView } {
  const target = [...new Set(targetClasses.map((c) => classIndex(dataset, c)))].sort((a, b) => a - b);
  if (target.length === 0) throw new Error('splitByClass: no target classes given');
  const source = dataset.classNames.map((_, k) => k).filter((k) => !target.includes(k));
  const byClass = indicesByClass(dataset);
  const view = (classes: number[]): DatasetView =>
    new DatasetView(dataset, Int32Array.from(classes.flatMap((k) => byClass[k]!)).sort(), { originalLabels: classes });
  return { source: view(source), target: view(target) };
}

/**
 * Few-shot: `shots` randomly chosen examples of every class for training, all the others for evaluation.
 * Fails naming the class when one has no more than `shots` examples.
 */
export function fewShotSplit(dataset: Dataset, shots: number, seed = 0): { labelled: DatasetView; evaluation: DatasetView } {
  if (!Number.isInteger(shots) || shots <= 0) throw new Error(`fewShotSplit: shots must be a positive integer, got ${shots}`);
  const random = mulberry32(seed);
  const labelled: number[] = [];
  const evaluation: number[] = [];
  indicesByClass(dataset).forEach((members, k) => {
    if (members.length <= shots) {
      throw new Error(`fewShotSplit: class ${dataset.classNames[k]} has ${members.length} examples, needs more than ${shots}`);
    }
    const shuffled = [...members];
    shuffleInPlace(shuffled, random);
    labelled.push(...shuffled.slice(0, shots));
    evaluation.push(...shuffled.slice(shots));
  });
  return { labelled: sortedView(dataset, labelled), evaluation: sortedView(dataset, evaluation) };
}

/**
 * Random train/validation split with `valFraction` of each class held out (stratified), so small
 * classes are represented on both sides.
 */
export function trainValSplit(dataset: Dataset, valFraction: number, seed = 0): { train: DatasetView; val: DatasetView } {
  if (!(valFraction > 0 && valFraction < 1)) throw new Error(`trainValSplit: valFraction must be in (0, 1), got ${valFraction}`);
  const random = mulberry32(seed);
  const train: number[] = [];
  const val: number[] = [];
  for (const members of indicesByClass(dataset)) {
    const shuffled = [...members];
    shuffleInPlace(shuffled, random);
    const held = Math.round(members.length * valFraction);
    val.push(...shuffled.slice(0, held));
    train.push(...shuffled.slice(held));
  }
  return { train: sortedView(dataset, train), val: sortedView(dataset, val) };
}

function sortedView(dataset: Dataset, indices: number[]): DatasetView {
  return new DatasetView(dataset, Int32Array.from(indices).sort());
}
