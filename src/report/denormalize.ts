import { formatShape } from '../tensor.js';

/**
 * Undoes the training-time normalization of one CHW image: pixel = value * std + mean on the
 * 0-255 scale, clipped to 0..255. One-channel images become gray RGB so every consumer can
 * treat the result as interleaved RGB.
 */
export function denormalizeToRgb(
  image: Float32Array,
  shape: readonly [number, number, number],
  mean: readonly number[],
  std: readonly number[],
): Uint8Array {
  const [channels, height, width] = shape;
  checkShape(shape);
  const plane = height * width;
  if (image.length !== channels * plane) {
    throw new Error(`image has ${image.length} values, but shape ${formatShape(shape)} needs ${channels * plane}`);
  }
  const channelMean = perChannel(mean, channels, 'mean');
  const channelStd = perChannel(std, channels, 'std');
  const rgb = new Uint8Array(plane * 3);
  for (let outChannel = 0; outChannel < 3; outChannel++) {
    const source = channels === 1 ? 0 : outChannel;
    const m = channelMean[source]!;
    const s = channelStd[source]!;
    const offset = source * plane;
    for (let i = 0; i < plane; i++) {
      // Uint8Array assignment truncates and wraps, so clip and round explicitly.
      const value = image[offset + i]! * s + m;
      rgb[i * 3 + outChannel] = value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
    }
  }
  return rgb;
}

function checkShape(shape: readonly number[]): void {
  const [channels, height, width] = shape;
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`image shape must be [C, H, W] with positive integers, got ${formatShape(shape)}`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new Error(`images must have 1 or 3 channels, got ${channels} (shape [${channels}, ${height}, ${width}])`);
  }
}

/** A single value applies to every channel, which lets grayscale runs pass one mean and std. */
function perChannel(values: readonly number[], channels: number, name: string): number[] {
  if (values.length === channels) return [...values];
  if (values.length === 1) return new Array<number>(channels).fill(values[0]!);
  throw new Error(`${name} has ${values.length} values, but the images have ${channels} channel(s)`);
}
