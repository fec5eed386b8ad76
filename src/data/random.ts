import { mulberry32 as uniformSource } from '../util/random.js';

/** A seeded source of uniform numbers, so shuffles and augmentations can be replayed exactly. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

/** mulberry32 (src/util/random.ts) behind the data layer's `next()` interface. */
export function mulberry32(seed: number): Random {
  return { next: uniformSource(seed) };
}

/**
 * Combines integers into one well-mixed 32-bit seed (murmur3's finalizer per part), so
 * (seed, epoch, position) gives independent streams whatever order samples are decoded in.
 */
export function mixSeed(...parts: number[]): number {
  let hash = 0x9e3779b9;
  for (const part of parts) {
    let k = Math.imul(part >>> 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    hash = Math.imul(hash ^ Math.imul(k, 0x1b873593), 5) + 0xe6546b64;
    hash ^= hash >>> 16;
    hash = Math.imul(hash, 0x85ebca6b);
    hash ^= hash >>> 13;
    hash = Math.imul(hash, 0xc2b2ae35);
    hash ^= hash >>> 16;
  }
  return hash >>> 0;
}

export function uniform(random: Random, low: number, high: number): number {
  return low + (high - low) * random.next();
}

/** Integer in [low, high), like torch.randint(low, high). */
export function randomInt(random: Random, low: number, high: number): number {
  return low + Math.floor(random.next() * (high - low));
}

/** Fisher-Yates in place. */
export function shuffleInPlace<T>(items: T[] | Int32Array, random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const swap = items[i]!;
    items[i] = items[j]!;
    items[j] = swap;
  }
}
