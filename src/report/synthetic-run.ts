import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { renderImageGrid } from './grid.js';
import { PREVIEW_PNG, writeRunImages, writeRunRecord, type RunRecord } from './run-record.js';
import { mulberry32 } from '../util/random.js';

/** Fashion-MNIST's class names and pixel statistics (0-255 scale), as the embedded demo uses. */
export const FASHION_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const FASHION_MEAN = 0.286 * 255;
const FASHION_STD = 0.353 * 255;

export interface SyntheticRunOptions {
  epochs?: number;
  evaluationSize?: number;
  /** How many evaluation images to store beside run.json. */
  storedImages?: number;
  seed?: number;
}

/**
 * Writes a complete, made-up run directory (28x28 gray shapes standing in for Fashion-MNIST) so the
 * report can be seen and tested without training anything. Nothing in it is a measurement.
 */
export async function writeSyntheticRun(runDir: string, options: SyntheticRunOptions = {}): Promise<RunRecord> {
  const random = mulberry32(options.seed ?? 7);
  const epochs = options.epochs ?? 8;
  const evaluationSize = options.evaluationSize ?? 300;
  const storedImages = Math.min(options.storedImages ?? 48, evaluationSize);
  const classCount = FASHION_CLASS_NAMES.length;

  const history = Array.from({ length: epochs }, (_, i) => {
    const progress = 1 - Math.exp(-(i + 1) / 2.5);
    return {
      epoch: i + 1,
      trainLoss: 2.2 - 1.9 * progress + random() * 0.04,
      trainAccuracy: 0.35 + 0.58 * progress,
      valLoss: 2.15 - 1.75 * progress + random() * 0.06,
      valAccuracy: 0.38 + 0.5 * progress + random() * 0.01,
      epochMs: 4200 + random() * 300,
      stepMs: 11 + random(),
    };
  });

  const labels: number[] = [];
  const predicted: number[] = [];
  const probabilities: number[][] = [];
  for (let i = 0; i < evaluationSize; i++) {
    const label = i % classCount;
    // Look-alike classes (shirt, T-shirt, pullover, coat) get confused most, as in the real data.
    const confusable = [0, 2, 4, 6].includes(label);
    const wrong = random() < (confusable ? 0.3 : 0.06);
    const guess = wrong ? (confusable ? [0, 2, 4, 6].filter((c) => c !== label)[Math.floor(random() * 3)]! : (label + 1 + Math.floor(random() * (classCount - 1))) % classCount) : label;
    const row = Array.from({ length: classCount }, () => random() * 0.5);
    row[guess] = 2 + random() * 4;
    const total = row.reduce((a, b) => a + Math.exp(b), 0);
    labels.push(label);
    predicted.push(guess);
    probabilities.push(row.map((v) => Math.exp(v) / total));
  }

  const images = labels.slice(0, storedImages).map((label) => drawShape(label, random));
  const normalization = { mean: [FASHION_MEAN], std: [FASHION_STD] };
  const imagesRecord = await writeRunImages(runDir, images, [1, 28, 28], normalization);
  const preview = await renderImageGrid({
    images: images.slice(0, 4),
    shape: [1, 28, 28],
    ...normalization,
    titles: labels.slice(0, 4).map((l) => FASHION_CLASS_NAMES[l]!),
    rows: 2,
    cols: 2,
  });
  await writeFileAtomic(path.join(runDir, PREVIEW_PNG), preview);

  const record: RunRecord = {
    config: {
      model: 'resnet-tiny (synthetic)',
      dataset: 'synthetic shapes standing in for Fashion-MNIST',
      epochs,
      batchSize: 32,
      optimizer: { name: 'momentum', learningRate: 0.001, momentum: 0.9 },
      freezeBackbone: false,
      seed: options.seed ?? 7,
    },
    classNames: FASHION_CLASS_NAMES,
    history,
    comparison: [
      { method: 'from scratch', accuracy: 0.842, isBaseline: true },
      { method: 'fine-tune all layers', accuracy: 0.913 },
      { method: 'frozen backbone + new head', accuracy: 0.871 },
      { method: 'mismatched pretraining (frozen)', accuracy: 0.803 },
    ],
    evaluation: { labels, predicted, probabilities },
    images: imagesRecord,
  };
  await writeRunRecord(runDir, record);
  return record;
}

/** A 28x28 normalized image of a class-specific shape with a little noise. */
function drawShape(label: number, random: () => number): Float32Array {
  const size = 28;
  const image = new Float32Array(size * size);
  const cx = 13.5 + (random() - 0.5) * 3;
  const cy = 13.5 + (random() - 0.5) * 3;
  const r = 6 + (label % 4) * 1.5;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const d = Math.hypot(dx, dy);
      let inside: boolean;
      switch (label % 5) {
        case 0: inside = Math.abs(dx) < r && Math.abs(dy) < r * 0.8; break;
        case 1: inside = d < r; break;
        case 2: inside = dy > -r && dy < r && Math.abs(dx) < (dy + r) / 2; break;
        case 3: inside = Math.abs(dx) < 2.5 || Math.abs(dy) < 2.5 ? d < r + 2 : false; break;
        default: inside = d < r && d > r - 3.5; break;
      }
      const shade = label >= 5 ? 200 : 240;
      const value = (inside ? shade : 10) + (random() - 0.5) * 30;
      image[y * size + x] = (value - FASHION_MEAN) / FASHION_STD;
    }
  }
  return image;
}
