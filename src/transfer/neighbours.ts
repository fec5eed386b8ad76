/** Non-parametric classifiers on L2-normalized features: k-nearest neighbours and nearest class mean. */
import type { FeatureMatrix } from './tensor-classifier.js';

export function l2Normalize(features: FeatureMatrix): FeatureMatrix {
  const { values, rows, dimension } = features;
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let d = 0; d < dimension; d++) norm += values[r * dimension + d]! ** 2;
    const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
    for (let d = 0; d < dimension; d++) out[r * dimension + d] = values[r * dimension + d]! * scale;
  }
  return { values: out, rows, dimension };
}

function cosineScores(query: FeatureMatrix, reference: FeatureMatrix, q: number): Float32Array {
  const scores = new Float32Array(reference.rows);
  const d = query.dimension;
  for (let r = 0; r < reference.rows; r++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += query.values[q * d + k]! * reference.values[r * d + k]!;
    scores[r] = s;
  }
  return scores;
}

/** Cosine-similarity kNN with votes weighted by similarity. */
export class KNearestNeighbours {
  private readonly reference: FeatureMatrix;

  constructor(reference: FeatureMatrix, private readonly labels: ArrayLike<number>, readonly classes: number, readonly k = 5) {
    if (reference.rows !== labels.length) throw new Error(`kNN: ${reference.rows} feature rows for ${labels.length} labels`);
    this.reference = l2Normalize(reference);
  }

  predict(features: FeatureMatrix): Int32Array {
    const query = l2Normalize(features);
    const out = new Int32Array(query.rows);
    const k = Math.min(this.k, this.reference.rows);
    for (let q = 0; q < query.rows; q++) {
      const scores = cosineScores(query, this.reference, q);
      const nearest = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!).slice(0, k);
      const votes = new Float64Array(this.classes);
      for (const r of nearest) votes[this.labels[r]!]! += 1 + scores[r]!;
      out[q] = votes.indexOf(Math.max(...votes));
    }
    return out;
  }
}

/** Nearest class mean (Mensink et al.): each class is the mean of its normalized features. */
export class NearestClassMean {
  readonly centroids: FeatureMatrix;

  constructor(reference: FeatureMatrix, labels: ArrayLike<number>, readonly classes: number) {
    const normalized = l2Normalize(reference);
    const d = reference.dimension;
    const sums = new Float32Array(classes * d);
    const counts = new Float32Array(classes);
    for (let r = 0; r < reference.rows; r++) {
      const c = labels[r]!;
      counts[c]! += 1;
      for (let k = 0; k < d; k++) sums[c * d + k]! += normalized.values[r * d + k]!;
    }
    for (let c = 0; c < classes; c++) for (let k = 0; k < d; k++) sums[c * d + k]! /= Math.max(1, counts[c]!);
    this.centroids = l2Normalize({ values: sums, rows: classes, dimension: d });
  }

  predict(features: FeatureMatrix): Int32Array {
    const query = l2Normalize(features);
    const out = new Int32Array(query.rows);
    for (let q = 0; q < query.rows; q++) {
      const scores = cosineScores(query, this.centroids, q);
      out[q] = scores.indexOf(Math.max(...scores));
    }
    return out;
  }
}

export function accuracyOf(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return labels.length ? correct / labels.length : 0;
}
