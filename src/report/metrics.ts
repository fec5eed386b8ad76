/** Classification metrics from labels, predictions and probabilities. */

export interface ClassMetrics {
  className: string;
  /** Null when the model never predicted this class: precision is undefined there, not zero. */
  precision: number | null;
  /** Null when the class has no examples. */
  recall: number | null;
  /** Null when precision or recall is undefined. */
  f1: number | null;
  /** How many examples truly belong to the class. */
  support: number;
}

export interface ConfidentMistake {
  /** Position in the evaluation arrays. */
  index: number;
  actual: number;
  predicted: number;
  /** Probability the model gave its (wrong) prediction. */
  confidence: number;
}

/** Rows are the true class, columns the predicted class, as scikit-learn does. */
export function confusionMatrix(labels: readonly number[], predicted: readonly number[], classCount: number): number[][] {
  checkPairs(labels, predicted, classCount);
  const matrix = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  for (let i = 0; i < labels.length; i++) matrix[labels[i]!]![predicted[i]!]! += 1;
  return matrix;
}

export function accuracy(labels: readonly number[], predicted: readonly number[]): number {
  if (labels.length !== predicted.length) {
    throw new Error(`labels has ${labels.length} entries but predicted has ${predicted.length}`);
  }
  if (labels.length === 0) throw new Error('accuracy of an empty evaluation is undefined');
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predicted[i]) right++;
  return right / labels.length;
}

export function perClassMetrics(matrix: readonly (readonly number[])[], classNames: readonly string[]): ClassMetrics[] {
  const classCount = matrix.length;
  if (classNames.length !== classCount) {
    throw new Error(`the confusion matrix has ${classCount} classes but ${classNames.length} class names were given`);
  }
  return classNames.map((className, c) => {
    const truePositives = matrix[c]![c]!;
    const support = sum(matrix[c]!);
    let predictedCount = 0;
    for (let r = 0; r < classCount; r++) predictedCount += matrix[r]![c]!;
    const precision = predictedCount === 0 ? null : truePositives / predictedCount;
    const recall = support === 0 ? null : truePositives / support;
    const f1 =
      precision === null || recall === null ? null : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { className, precision, recall, f1, support };
  });
}

/** Unweighted mean over the classes where the metric is defined. */
export function macroAverage(metrics: readonly ClassMetrics[], key: 'precision' | 'recall' | 'f1'): number | null {
  const defined = metrics.map((m) => m[key]).filter((v): v is number => v !== null);
  return defined.length === 0 ? null : sum(defined) / defined.length;
}

/**
 * The wrong predictions the model was surest about, most confident first: the examples most worth
 * a look (label noise, look-alike classes).
 */
export function mostConfidentMistakes(
  labels: readonly number[],
  predicted: readonly number[],
  probabilities: readonly (readonly number[])[],
  limit: number,
): ConfidentMistake[] {
  if (probabilities.length !== labels.length) {
    throw new Error(`probabilities has ${probabilities.length} rows but labels has ${labels.length} entries`);
  }
  const mistakes: ConfidentMistake[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === predicted[i]) continue;
    const confidence = probabilities[i]![predicted[i]!];
    if (confidence === undefined) throw new Error(`probabilities row ${i} has no entry for predicted class ${predicted[i]}`);
    mistakes.push({ index: i, actual: labels[i]!, predicted: predicted[i]!, confidence });
  }
  // Ties keep evaluation order so the selection is reproducible.
  mistakes.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  return mistakes.slice(0, Math.max(0, limit));
}

function checkPairs(labels: readonly number[], predicted: readonly number[], classCount: number): void {
  if (!Number.isInteger(classCount) || classCount < 1) throw new Error(`class count must be a positive integer, got ${classCount}`);
  if (labels.length !== predicted.length) {
    throw new Error(`labels has ${labels.length} entries but predicted has ${predicted.length}`);
  }
  for (const [name, values] of [['labels', labels], ['predicted', predicted]] as const) {
    values.forEach((value, i) => {
      if (!Number.isInteger(value) || value < 0 || value >= classCount) {
        throw new Error(`${name}[${i}] is ${value}, not a class index in 0..${classCount - 1}`);
      }
    });
  }
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
