import type { Batch } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import { evaluateStream, withRunner, type BatchRunner, type StreamEvaluation } from './infer.js';
import { InferenceRunner } from '../runtime/inference.js';
import { stagesOf } from '../runtime/stages.js';
import { numel } from '../tensor.js';
import type { Int8Options, Int8Report } from '../runtime/int8.js';
import { TestTimeAugmentation } from './tta.js';
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

export interface EvaluateOptions {
  /** Average the predictions of each image and its mirror image (test-time augmentation). */
  tta?: boolean;
  /** Keep the first this many input images (for prediction grids). */
  keepImages?: number;
  /** Stop after this many samples. */
  limit?: number;
  /** Run the network as an int8 QDQ graph calibrated on this sample (runtime/int8.ts). */
  int8?: Int8Options;
  /**
   * With `int8`: only the first this many stages run at int8, the rest at float32, as training ran them
   * (FitResult.frozenStages); the int8 part is then the graph training built, which `int8.builds` reuses.
   */
  int8Stages?: number;
}

/** Runs a network in inference mode (BN with moving statistics) over every batch of a loader. */
export async function evaluate(net: Module, loader: BatchStream, inputShape: readonly number[], options: Omit<EvaluateOptions, 'keepImages'> = {}): Promise<Evaluation> {
  return (await evaluateWithImages(net, loader, inputShape, 0, options)).evaluation;
}

/** `evaluate`, also keeping the first `keepImages` input images. */
export async function evaluateWithImages(net: Module, loader: BatchStream, inputShape: readonly number[], keepImages: number, options: Omit<EvaluateOptions, 'keepImages'> = {}): Promise<StreamEvaluation & { int8?: Int8Report }> {
  const work = async (runner: BatchRunner, int8?: Int8Report) => ({
    ...(await evaluateStream(options.tta ? new TestTimeAugmentation(runner, inputShape) : runner, loader, { keepImages, limit: options.limit })),
    ...(int8 ? { int8 } : {}),
  });
  const split = options.int8Stages ?? 0;
  if (options.int8 && split > 0) return withInt8Prefix(net, inputShape, options.int8, split, work);
  return withRunner(net, inputShape, (runner) => work(runner, runner.int8), { int8: options.int8 });
}

/** `work` over the network with its first `split` stages at int8 and the rest at float32. */
async function withInt8Prefix<T>(net: Module, inputShape: readonly number[], int8: Int8Options, split: number, work: (runner: BatchRunner, report: Int8Report) => Promise<T>): Promise<T> {
  net.nameParameters();
  const stages = stagesOf(net);
  if (split >= stages.length) throw new Error(`int8Stages ${split}: the network has ${stages.length} stages, and the last must stay float32 here`);
  // The rest runs right after the prefix, batch by batch: the prefix's threads must not spin into it (session.ts).
  const prefix = await InferenceRunner.create(stages.slice(0, split), inputShape, { int8, spinning: false });
  try {
    const probe = await prefix.run(new Float32Array(numel(inputShape)), 1);
    const rest = await InferenceRunner.create(stages.slice(split), probe.shape.slice(1));
    try {
      return await work({ run: async (input, batch) => rest.run((await prefix.run(input, batch)).data, batch) }, prefix.int8!);
    } finally {
      await rest.release();
    }
  } finally {
    await prefix.release();
  }
}
