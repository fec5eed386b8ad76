/**
 * Test-time augmentation: each image is classified as given (the evaluation transforms' centre
 * crop) and mirrored left-right, and the two predicted distributions are averaged, as fastai's
 * `tta` and timm's flip TTA do.
 */
import { formatShape, numel } from '../tensor.js';
import type { BatchRunner } from './infer.js';
import { softmax } from './metrics.js';

/** The batch `images` ([N, ...sampleShape], last axis = width) mirrored along the width. */
export function flipHorizontal(images: Float32Array, sampleShape: readonly number[]): Float32Array {
  const width = sampleShape[sampleShape.length - 1]!;
  const out = new Float32Array(images.length);
  for (let row = 0; row < images.length; row += width) {
    for (let x = 0; x < width; x++) out[row + x] = images[row + width - 1 - x]!;
  }
  return out;
}

/** The views TTA averages over, for a batch of centre-cropped images. */
export function ttaViews(images: Float32Array, sampleShape: readonly number[]): Float32Array[] {
  return [images, flipHorizontal(images, sampleShape)];
}

/** Log of the mean of each view's softmax, so that softmax of the result is the averaged distribution. */
export function averageDistributions(viewLogits: readonly Float32Array[], classes: number): Float32Array {
  const out = new Float32Array(viewLogits[0]!.length);
  for (let start = 0; start < out.length; start += classes) {
    const mean = new Array<number>(classes).fill(0);
    for (const logits of viewLogits) {
      softmax(Array.from(logits.subarray(start, start + classes))).forEach((p, c) => (mean[c]! += p / viewLogits.length));
    }
    mean.forEach((p, c) => (out[start + c] = Math.log(Math.max(p, 1e-30))));
  }
  return out;
}

/** A runner that classifies every view of the batch with `runner` and returns averaged log-probabilities. */
export class TestTimeAugmentation implements BatchRunner {
  constructor(private readonly runner: BatchRunner, private readonly sampleShape: readonly number[]) {
    if (sampleShape.length !== 3) throw new Error(`test-time augmentation needs images [C, H, W], got a sample shape of ${formatShape(sampleShape)}`);
  }

  async run(input: Float32Array, batch: number): Promise<{ data: Float32Array; shape: number[] }> {
    if (input.length !== batch * numel(this.sampleShape)) throw new Error(`test-time augmentation: ${input.length} values are not ${batch} samples of ${formatShape(this.sampleShape)}`);
    const outputs = [];
    for (const view of ttaViews(input, this.sampleShape)) outputs.push(await this.runner.run(view, batch));
    const shape = outputs[0]!.shape;
    return { data: averageDistributions(outputs.map((o) => o.data), shape[1]!), shape };
  }
}
