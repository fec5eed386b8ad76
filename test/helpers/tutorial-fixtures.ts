/**
 * Small stand-ins for the tutorial's inputs, generated on the fly: an ImageFolder of JPEGs shaped
 * like datasets-Canidae (train/val x dogs/wolves, classes told apart by colour and shape) and a
 * MindSpore-named ResNet checkpoint with deterministic weights (the layout of resnet50_224_new.ckpt).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { writeCheckpoint, type CheckpointEntry } from '../../src/io/ckpt.js';
import { createResNet } from '../../src/models/registry.js';
import { seedInitializers } from '../../src/nn/init.js';
import { fillNormal, fillUniform, mulberry32 } from '../../src/util/random.js';

export interface ImageFolderSpec {
  classes?: readonly string[];
  /** Images per class in each split. */
  train: number;
  val: number;
  /** Side of the generated images (not square: width is 4/3 of it, like photos). */
  size?: number;
  seed?: number;
}

/** Per class: background tint, the shape drawn on it. Far apart, so even random features separate them. */
const STYLES = [
  { background: [196, 120, 60], shape: 'circle', fill: '#f5e6c8' },
  { background: [70, 90, 130], shape: 'triangle', fill: '#20242c' },
  { background: [60, 150, 80], shape: 'square', fill: '#f0f040' },
  { background: [150, 60, 150], shape: 'cross', fill: '#ffffff' },
] as const;

function shapeSvg(kind: string, fill: string, width: number, height: number, cx: number, cy: number, r: number): string {
  const body =
    kind === 'circle' ? `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}"/>`
      : kind === 'triangle' ? `<polygon points="${cx},${cy - r} ${cx - r},${cy + r} ${cx + r},${cy + r}" fill="${fill}"/>`
        : kind === 'square' ? `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" fill="${fill}"/>`
          : `<path d="M${cx - r} ${cy}H${cx + r}M${cx} ${cy - r}V${cy + r}" stroke="${fill}" stroke-width="${r / 2}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`;
}

/** Writes `<root>/{train,val}/<class>/<n>.jpg` and returns the root. */
export async function writeTutorialImageFolder(root: string, spec: ImageFolderSpec): Promise<string> {
  const classes = spec.classes ?? ['dogs', 'wolves'];
  if (classes.length > STYLES.length) throw new Error(`at most ${STYLES.length} generated classes`);
  const height = spec.size ?? 96;
  const width = Math.round((height * 4) / 3);
  const random = mulberry32(spec.seed ?? 1);
  const jobs: Promise<unknown>[] = [];
  for (const [split, count] of [['train', spec.train], ['val', spec.val]] as const) {
    for (const [label, name] of classes.entries()) {
      const dir = path.join(root, split, name);
      await fs.mkdir(dir, { recursive: true });
      const style = STYLES[label]!;
      for (let i = 0; i < count; i++) {
        const jitter = () => Math.round((random() - 0.5) * 40);
        const background = { r: style.background[0] + jitter(), g: style.background[1] + jitter(), b: style.background[2] + jitter() };
        const r = Math.round(height * (0.2 + 0.15 * random()));
        const cx = Math.round(r + random() * (width - 2 * r));
        const cy = Math.round(r + random() * (height - 2 * r));
        const overlay = Buffer.from(shapeSvg(style.shape, style.fill, width, height, cx, cy, r));
        jobs.push(
          sharp({ create: { width, height, channels: 3, background } })
            .composite([{ input: overlay }])
            .jpeg({ quality: 90 })
            .toFile(path.join(dir, `${split}_${name}_${String(i).padStart(3, '0')}.jpg`)),
        );
      }
    }
  }
  await Promise.all(jobs);
  return root;
}

/**
 * A ResNet checkpoint with MindSpore's (= the tutorial's) parameter names and `classes` outputs.
 * He-normal convolutions, the last BN of each block scaled down (so activations neither vanish nor
 * explode through 16 blocks), positive moving variances.
 */
export async function writeMindSporeResNetCheckpoint(file: string, model: string, classes = 1000, seed = 7): Promise<void> {
  seedInitializers(seed);
  const net = createResNet(model, { numClasses: classes, weightInit: { kind: 'he-normal', mode: 'fan-out' } });
  const random = mulberry32(seed);
  const entries = new Map<string, CheckpointEntry>();
  const lastNorm = model === 'resnet18' || model === 'resnet34' ? 'norm2' : 'norm3';
  for (const p of net.parameters()) {
    if (p.name.endsWith('moving_variance')) fillUniform(p.data, random, 0.5, 1.5);
    else if (p.name.endsWith('moving_mean')) fillNormal(p.data, random, 0, 0.1);
    else if (p.name.startsWith('layer') && p.name.endsWith(`.${lastNorm}.gamma`)) p.data.fill(0.3);
    else if (p.name.endsWith('.beta')) fillNormal(p.data, random, 0, 0.05);
    entries.set(p.name, { dtype: 'float32', shape: [...p.shape], data: p.data });
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeCheckpoint(file, entries);
}
