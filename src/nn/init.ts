import { fillNormal, fillUniform, mulberry32, type RandomSource } from '../util/random.js';

/** Weight initializers, named like MindSpore's (Normal(sigma), HeNormal) and torch's kaiming. */
export type Initializer =
  | { kind: 'normal'; mean?: number; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'he-normal'; mode: 'fan-in' | 'fan-out' }
  | { kind: 'constant'; value: number };

/** The tutorial's weight_init = Normal(mean=0, sigma=0.02). */
export const TUTORIAL_INIT: Initializer = { kind: 'normal', std: 0.02 };

let globalRandom: RandomSource = mulberry32(0);

/** Seeds every initializer that follows, for reproducible networks. */
export function seedInitializers(seed: number): void {
  globalRandom = mulberry32(seed);
}

export function initialize(values: Float32Array, shape: readonly number[], init: Initializer): Float32Array {
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  switch (init.kind) {
    case 'normal':
      return fillNormal(values, globalRandom, init.mean ?? 0, init.std);
    case 'uniform':
      return fillUniform(values, globalRandom, -init.bound, init.bound);
    case 'he-normal': {
      const fan = (init.mode === 'fan-in' ? shape[1]! : shape[0]!) * receptive;
      return fillNormal(values, globalRandom, 0, Math.sqrt(2 / fan));
    }
    case 'constant':
      return values.fill(init.value);
  }
}
