/**
 * The frozen prefix's output per example, filled during the first pass. With a frozen backbone
 * and no random augmentation, later epochs train the head from here and never decode an image.
 */
import { numel } from '../tensor.js';
export class FeatureCache {
  private readonly values: Float32Array;
  private readonly filled: Uint8Array;
  private count = 0;
  readonly size: number;

  constructor(readonly length: number, readonly sampleShape: readonly number[]) {
    this.size = numel(sampleShape);
    const bytes = length * this.size * 4;
    if (bytes > 8 * 1024 ** 3) throw new Error(`the feature cache would need ${(bytes / 1024 ** 3).toFixed(1)} GiB; turn caching off or freeze fewer layers`);
    this.values = new Float32Array(length * this.size);
    this.filled = new Uint8Array(length);
  }

  get complete(): boolean {
    return this.count === this.length;
  }

  /** Complete but for `excluded` (examples the loader skips and replaces, which never reach the cache). */
  completeWithout(excluded: ReadonlySet<number> | undefined): boolean {
    if (this.complete || !excluded) return this.complete;
    let missing = this.length - this.count;
    for (const index of excluded) if (!this.filled[index]) missing--;
    return missing === 0;
  }

  store(indices: ArrayLike<number>, activations: Float32Array): void {
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      this.values.set(activations.subarray(k * this.size, (k + 1) * this.size), index * this.size);
      if (!this.filled[index]) {
        this.filled[index] = 1;
        this.count++;
      }
    }
  }

  gather(indices: ArrayLike<number>): Float32Array {
    const out = new Float32Array(indices.length * this.size);
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      out.set(this.values.subarray(index * this.size, (index + 1) * this.size), k * this.size);
    }
    return out;
  }

  /** All cached activations in dataset order (for feature-based transfer). */
  all(): Float32Array {
    return this.values;
  }
}
