import type { Batch } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import { InferenceRunner } from '../runtime/inference.js';
import type { Int8Options } from '../runtime/int8.js';
import { softmax } from './metrics.js';

export interface BatchStream {
  readonly steps: number;
  epoch(epoch: number): AsyncIterable<Batch>;
}

export interface Evaluation {
  accuracy: number;
  loss: number;
  labels: number[];
  predicted: number[];
  probabilities: number[][];
  indices: number[];
}

/** Accumulates predictions batch by batch into accuracy, mean cross-entropy and per-sample outputs. */
export class EvaluationAccumulator {
  private readonly result: Evaluation = { accuracy: 0, loss: 0, labels: [], predicted: [], probabilities: [], indices: [] };
  private lossSum = 0;

  add(logits: Float32Array, classes: number, labels: ArrayLike<number>, indices?: ArrayLike<number>): void {
    for (let i = 0; i < labels.length; i++) {
      const probabilities = softmax(Array.from(logits.subarray(i * classes, (i + 1) * classes)));
      const label = labels[i]!;
      this.lossSum -= Math.log(Math.max(probabilities[label] ?? 0, 1e-12));
      this.result.labels.push(label);
      this.result.predicted.push(probabilities.indexOf(Math.max(...probabilities)));
      this.result.probabilities.push(probabilities);
      this.result.indices.push(indices ? indices[i]! : this.result.indices.length);
    }
  }

  finish(): Evaluation {
    const n = this.result.labels.length;
    const correct = this.result.labels.filter((l, i) => l === this.result.predicted[i]).length;
    return { ...this.result, accuracy: n ? correct / n : 0, loss: n ? this.lossSum / n : 0 };
  }
}

/** Runs a network in inference mode (BN with moving statistics) over every batch of a loader. */
export async function evaluate(net: Module, loader: BatchStream, inputShape: readonly number[], options: { int8?: Int8Options } = {}): Promise<Evaluation> {
  const runner = await InferenceRunner.create(net, inputShape, { int8: options.int8 });
  const accumulator = new EvaluationAccumulator();
  try {
    for await (const batch of loader.epoch(0)) {
      const out = await runner.run(batch.images, batch.labels.length);
      accumulator.add(out.data, out.shape[1]!, batch.labels, batch.indices);
    }
  } finally {
    await runner.release();
  }
  return accumulator.finish();
}
