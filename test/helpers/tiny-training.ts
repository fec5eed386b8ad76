/**
 * A training run small enough to kill and resume many times in a test: resnet18 at width 4 with the
 * small-input stem, on synthetic 1x12x12 images held in memory (no decoding, no files to read).
 *
 * As a script (the reliability test runs it as a child process it can SIGKILL):
 *   node dist/test/helpers/tiny-training.js <checkpoint-dir> <epochs> [--resume] [--lr X] [--seed N]
 * It prints `ready` just before training starts, and fit's tutorial log after that.
 */
import { pathToFileURL } from 'node:url';
import { InMemoryDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { mulberry32 } from '../../src/data/random.js';
import { createResNet } from '../../src/models/registry.js';
import type { ResNet } from '../../src/models/resnet.js';
import { seedInitializers } from '../../src/nn/init.js';
import { fit, type FitResult } from '../../src/train/fit.js';

export const TINY_SIDE = 12;
export const TINY_INPUT_SHAPE = [1, TINY_SIDE, TINY_SIDE] as const;

export interface TinyTrainingOptions {
  checkpointDir?: string;
  epochs: number;
  resume?: boolean;
  lr?: number;
  seed?: number;
  trainImages?: number;
  batchSize?: number;
  log?: (line: string) => void;
  /** Called once the network and data exist, just before fit starts. */
  onReady?: () => void;
}

export function tinyNetwork(seed: number): ResNet {
  seedInitializers(seed);
  return createResNet('resnet18', { numClasses: 2, inChannels: 1, width: 4, smallInput: true });
}

/** Images whose class is which half (left or right) is brighter, plus noise: learnable, not trivial. */
export function tinyImages(count: number, seed: number): InMemoryDataset {
  const random = mulberry32(seed);
  const plane = TINY_SIDE * TINY_SIDE;
  const images = new Float32Array(count * plane);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % 2;
    labels[n] = label;
    for (let y = 0; y < TINY_SIDE; y++) {
      for (let x = 0; x < TINY_SIDE; x++) {
        const bright = (x < TINY_SIDE / 2) === (label === 0);
        images[n * plane + y * TINY_SIDE + x] = (bright ? 0.7 : 0.3) + 0.4 * (random.next() - 0.5);
      }
    }
  }
  return new InMemoryDataset({ images, shape: [count, 1, TINY_SIDE, TINY_SIDE], labels, classNames: ['left', 'right'] });
}

export async function runTinyTraining(options: TinyTrainingOptions): Promise<FitResult> {
  const seed = options.seed ?? 7;
  const net = tinyNetwork(seed);
  net.train(true);
  const batchSize = options.batchSize ?? 8;
  const train = new DataLoader(tinyImages(options.trainImages ?? 16, seed), { batchSize, shuffle: true, seed });
  const val = new DataLoader(tinyImages(16, seed + 1), { batchSize });
  options.onReady?.();
  return fit(net, {
    epochs: options.epochs, train, val, inputShape: TINY_INPUT_SHAPE, lr: options.lr ?? 0.05,
    optimizer: { kind: 'momentum', momentum: 0.9 }, checkpointDir: options.checkpointDir, resume: options.resume,
    log: options.log ?? ((line) => process.stdout.write(`${line}\n`)), progress: false,
  });
}

function flagValue(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [checkpointDir, epochs, ...rest] = process.argv.slice(2);
  if (!checkpointDir || !epochs) throw new Error('usage: tiny-training.js <checkpoint-dir> <epochs> [--resume] [--lr X] [--seed N]');
  const lr = flagValue(rest, '--lr');
  const seed = flagValue(rest, '--seed');
  await runTinyTraining({
    checkpointDir, epochs: Number(epochs), resume: rest.includes('--resume'),
    lr: lr === undefined ? undefined : Number(lr), seed: seed === undefined ? undefined : Number(seed),
    onReady: () => process.stdout.write('ready\n'),
  });
}
