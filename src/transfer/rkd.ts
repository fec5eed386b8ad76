/**
 * Relational knowledge distillation (Park et al., CVPR 2019): the student keeps the teacher's
 * relations between the samples of a batch: their pairwise distances (normalized by the mean
 * distance) and the angles they form. Neither needs the two embeddings to have the same width,
 * so a small network can learn from a large one.
 */
import type { Graph } from '../graph/graph.js';
import type { SymbolicTensor } from '../graph/ir.js';
import * as ew from '../graph/ops/elementwise.js';
import * as rd from '../graph/ops/reduce.js';
import { numel } from '../tensor.js';
import type { InferenceRunner } from '../runtime/inference.js';

type T = SymbolicTensor;

export interface RkdWeights {
  /** Weight of the distance-wise term (the paper's 25). */
  distance: number;
  /** Weight of the angle-wise term (the paper's 50). */
  angle: number;
}

export const PAPER_RKD_WEIGHTS: RkdWeights = { distance: 25, angle: 50 };

/** e[a, b] = x[b] - x[a], shape [B, B, D]. */
function pairDifferences(g: Graph, x: T): T {
  return ew.sub(g, rd.unsqueeze(g, x, 0), rd.unsqueeze(g, x, 1));
}

function norms(g: Graph, differences: T): T {
  return ew.sqrt(g, ew.clampMin(g, rd.reduceSum(g, ew.square(g, differences), [2], true), 1e-12));
}

/** Pairwise distances divided by their mean over distinct pairs, [B, B]. */
function normalizedDistances(g: Graph, x: T): T {
  const batch = x.shape[0]!;
  const distances = rd.reshape(g, norms(g, pairDifferences(g, x)), [batch, batch]);
  // The diagonal is zero, so the sum over all pairs is the sum over distinct ones.
  const mean = ew.scale(g, rd.reduceSum(g, distances, [0, 1], true), 1 / Math.max(1, batch * (batch - 1)));
  return ew.div(g, distances, ew.clampMin(g, mean, 1e-12));
}

/** cos of the angle at b between a and c, for every triple: [B, B, B]. */
function angles(g: Graph, x: T): T {
  const batch = x.shape[0]!;
  const differences = pairDifferences(g, x);
  // x[a] - x[a] is exactly zero: dividing it by its (clamped) norm would scale its gradient by
  // 1e6 and leave float32 cancellation noise. Adding 1 to the diagonal's norm keeps it at zero, smoothly.
  const identity = g.constant(Array.from({ length: batch * batch }, (_, i) => (i % (batch + 1) === 0 ? 1 : 0)), [batch, batch, 1]);
  const unit = ew.div(g, differences, ew.add(g, norms(g, differences), identity));
  return rd.matmul(g, unit, rd.transpose(g, unit, [0, 2, 1]));
}

function meanSmoothL1(g: Graph, a: T, b: T): T {
  const elements = numel(a.shape);
  const losses = ew.smoothL1(g, ew.sub(g, a, b));
  return ew.scale(g, rd.reduceSum(g, losses, a.shape.map((_, i) => i), false), 1 / elements);
}

/** The RKD loss between student embeddings (differentiable) and teacher embeddings (constant input). */
export function rkdLoss(g: Graph, student: T, teacher: T, weights: RkdWeights = PAPER_RKD_WEIGHTS): T {
  if (student.shape[0] !== teacher.shape[0]) throw new Error(`RKD: student batch ${student.shape[0]} != teacher batch ${teacher.shape[0]}`);
  const distance = meanSmoothL1(g, normalizedDistances(g, student), normalizedDistances(g, teacher));
  const angle = meanSmoothL1(g, angles(g, student), angles(g, teacher));
  return ew.add(g, ew.scale(g, distance, weights.distance), ew.scale(g, angle, weights.angle));
}

/** The `extraLoss` hook for TrainStep/fit: the teacher's embeddings arrive as the input `rkd_teacher`. */
export function rkdExtraLoss(teacherDimension: number, weights: RkdWeights = PAPER_RKD_WEIGHTS) {
  return {
    extraInputs: { rkd_teacher: [teacherDimension] },
    extraLoss: (g: Graph, features: T) => rkdLoss(g, features, g.input('rkd_teacher', [features.shape[0]!, teacherDimension]), weights),
  };
}

/**
 * The frozen teacher's embedding of each training image, computed the first time the image comes
 * up: the target's training images have no random transforms, so an embedding depends on the
 * image alone, and 40 epochs over 50 images need 50 teacher rows, not 200 teacher runs.
 */
export class TeacherEmbeddings {
  private readonly rows = new Map<number, Float32Array>();

  constructor(private readonly teacher: Pick<InferenceRunner, 'run'>, private readonly dimension: number, private readonly imageSize: number) {}

  async of(indices: Int32Array, images: Float32Array | undefined): Promise<Float32Array> {
    if (indices.some((i) => !this.rows.has(i))) {
      if (!images) throw new Error('RKD needs the batch images to compute the teacher embeddings');
      const batch = (await this.teacher.run(images, images.length / this.imageSize)).data;
      indices.forEach((index, k) => this.rows.set(index, batch.slice(k * this.dimension, (k + 1) * this.dimension)));
    }
    const out = new Float32Array(indices.length * this.dimension);
    indices.forEach((index, k) => out.set(this.rows.get(index)!, k * this.dimension));
    return out;
  }

  /** How many distinct images have an embedding. */
  get size(): number {
    return this.rows.size;
  }
}
