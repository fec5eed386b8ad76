import { fillNormal, fillUniform, mulberry32, type RandomSource } from '../util/random.js';

/** Weight initializers, named like MindSpore's (Normal(sigma), HeNormal) and torch's kaiming. */
export type Initializer =
  | { kind: 'normal'; mean?: number; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'he-normal'; mode: 'fan-in' | 'fan-out' }
  | { kind: 'constant'; value: number };

/** The tutorial's weight_init = Normal(mean=0, sigma=0.02). */
export const TUTORIAL_INIT: Initializer = { kind: 'normal', std: 0.02 };

/**
 * The position of the initializers' shared mulberry32 stream. Kept as a number rather than a
 * closure so a parameter can take its slice of the stream now and draw it later
 * (`deferInitializer`): mulberry32 advances its state by a constant per draw, so skipping n
 * draws is one multiply.
 */
let streamState = 0;
const MULBERRY_STEP = 0x6d2b79f5;

/** Seeds every initializer that follows, for reproducible networks. */
export function seedInitializers(seed: number): void {
  streamState = seed >>> 0;
}

/** Draws from the stream position `state` on (mulberry32 seeded with the state itself continues the stream). */
function streamFrom(state: number): RandomSource {
  return mulberry32(state);
}

function drawsNeeded(count: number, init: Initializer): number {
  // Box-Muller takes two uniforms per normal value (its retry on an exact 0 has odds 2^-32).
  if (init.kind === 'normal' || init.kind === 'he-normal') return 2 * count;
  return init.kind === 'uniform' ? count : 0;
}

function fill(values: Float32Array, shape: readonly number[], init: Initializer, random: RandomSource): Float32Array {
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  switch (init.kind) {
    case 'normal':
      return fillNormal(values, random, init.mean ?? 0, init.std);
    case 'uniform':
      return fillUniform(values, random, -init.bound, init.bound);
    case 'he-normal': {
      const fan = (init.mode === 'fan-in' ? shape[1]! : shape[0]!) * receptive;
      return fillNormal(values, random, 0, Math.sqrt(2 / fan));
    }
    case 'constant':
      return values.fill(init.value);
  }
}

/**
 * Reserves this tensor's draws from the shared stream now and returns the fill to run later:
 * the values equal what `initialize` would have drawn at this point, and the tensors built
 * after it draw the same values whether or not this one is ever filled.
 */
export function deferInitializer(shape: readonly number[], init: Initializer): () => Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const start = streamState;
  streamState = (streamState + Math.imul(drawsNeeded(count, init), MULBERRY_STEP)) >>> 0;
  return () => fill(new Float32Array(count), shape, init, streamFrom(start));
}

/** Fills `values` now from the shared stream (what a deferred initializer does later). */
export function initialize(values: Float32Array, shape: readonly number[], init: Initializer): Float32Array {
  const random = streamFrom(streamState);
  streamState = (streamState + Math.imul(drawsNeeded(values.length, init), MULBERRY_STEP)) >>> 0;
  return fill(values, shape, init, random);
}
