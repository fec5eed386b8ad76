import { Random, randomInt, uniform } from './random.js';

/** A crop in pixel coordinates of the image it applies to. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Python's round(): halves go to the even neighbour, which torchvision's offsets inherit. */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * torchvision's RandomResizedCrop.get_params: ten tries of an area fraction uniform in `scale` and an
 * aspect ratio log-uniform in `ratio`; if none fits, a centred crop of the whole image clamped to
 * the ratio range. `fallback` tells which path produced the box.
 */
export function randomResizedCropBox(
  width: number,
  height: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  random: Random,
): CropBox & { fallback: boolean } {
  const area = width * height;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * uniform(random, scale[0], scale[1]);
    const aspectRatio = Math.exp(uniform(random, logRatio[0], logRatio[1]));
    const w = roundHalfEven(Math.sqrt(targetArea * aspectRatio));
    const h = roundHalfEven(Math.sqrt(targetArea / aspectRatio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = randomInt(random, 0, height - h + 1);
      const left = randomInt(random, 0, width - w + 1);
      return { top, left, height: h, width: w, fallback: false };
    }
  }
  const inRatio = width / height;
  const minRatio = Math.min(ratio[0], ratio[1]);
  const maxRatio = Math.max(ratio[0], ratio[1]);
  let w = width;
  let h = height;
  if (inRatio < minRatio) {
    h = roundHalfEven(w / minRatio);
  } else if (inRatio > maxRatio) {
    w = roundHalfEven(h * maxRatio);
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w, fallback: true };
}

/** torchvision's center_crop offsets: int(round((size - crop) / 2)). */
export function centerCropBox(width: number, height: number, cropWidth: number, cropHeight: number): CropBox {
  if (cropWidth > width || cropHeight > height) {
    throw new Error(`CenterCrop ${cropWidth}x${cropHeight} is larger than the ${width}x${height} image; resize first`);
  }
  return {
    top: roundHalfEven((height - cropHeight) / 2),
    left: roundHalfEven((width - cropWidth) / 2),
    height: cropHeight,
    width: cropWidth,
  };
}

/** torchvision's Resize(int): the shorter side becomes `size`, the longer int(size * long / short). */
export function shorterSideSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.floor((size * height) / width) };
  return { width: Math.floor((size * width) / height), height: size };
}
