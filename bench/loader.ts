/**
 * Loader throughput: tlkit's ImageFolder + the tutorial's training transforms + DataLoader (batch 18) against
 * torchvision's ImageFolder + RandomResizedCrop/RandomHorizontalFlip/ToTensor/Normalize + DataLoader, on the
 * same generated JPEGs, in one run. Appends a dated section to bench/RESULTS.md.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/loader.js [--images 200] [--epochs 2] [--no-torch]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { ImageFolder } from '../src/data/image-folder.js';
import { DataLoader } from '../src/data/loader.js';
import { trainTransforms } from '../src/data/transforms.js';
import { writeBenchImages } from './loader-images.js';

const BATCH_SIZE = 18;
const TORCH_PYTHON = '/usr/bin/python3';

interface Measurement {
  label: string;
  imagesPerSecond: number;
}

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

async function timeTlkit(root: string, concurrency: number, epochs: number): Promise<Measurement> {
  const dataset = await ImageFolder.open(root);
  const loader = new DataLoader(dataset, { batchSize: BATCH_SIZE, shuffle: true, seed: 1, transforms: trainTransforms(224), concurrency });
  for await (const _ of loader) { /* warm-up epoch, like the torch side */ }
  let count = 0;
  const start = performance.now();
  for (let e = 0; e < epochs; e++) for await (const batch of loader) count += batch.shape[0];
  return { label: `tlkit concurrency=${concurrency}`, imagesPerSecond: count / ((performance.now() - start) / 1000) };
}

function timeTorch(root: string, epochs: number): Measurement[] {
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'loader_torch.py');
  const output = execFileSync(TORCH_PYTHON, [script, root, '--epochs', String(epochs), '--batch-size', String(BATCH_SIZE)], {
    encoding: 'utf8',
  });
  return output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { workers: number; img_per_s: number })
    .map((r) => ({ label: `torchvision num_workers=${r.workers}`, imagesPerSecond: r.img_per_s }));
}

async function main(): Promise<void> {
  const imageCount = argument('--images', 200);
  const epochs = argument('--epochs', 2);
  const root = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-bench-loader-'));
  try {
    const bytes = await writeBenchImages(root, imageCount);
    process.stdout.write(`${imageCount} JPEGs, ${(bytes / imageCount / 1024).toFixed(0)} KiB on average, in ${root}\n`);
    const results: Measurement[] = [];
    for (const concurrency of [2, 4, 8]) {
      const m = await timeTlkit(root, concurrency, epochs);
      results.push(m);
      process.stdout.write(`${m.label}: ${m.imagesPerSecond.toFixed(1)} img/s\n`);
    }
    const torchAvailable = !process.argv.includes('--no-torch') && existsSync(TORCH_PYTHON);
    if (torchAvailable) {
      for (const m of timeTorch(root, epochs)) {
        results.push(m);
        process.stdout.write(`${m.label}: ${m.imagesPerSecond.toFixed(1)} img/s\n`);
      }
    }
    const best = (prefix: string): Measurement | undefined =>
      results.filter((r) => r.label.startsWith(prefix)).sort((a, b) => b.imagesPerSecond - a.imagesPerSecond)[0];
    const tlkit = best('tlkit')!;
    const torch = best('torchvision');
    const ratio = torch ? tlkit.imagesPerSecond / torch.imagesPerSecond : undefined;
    if (ratio !== undefined) process.stdout.write(`best tlkit / best torchvision: ${ratio.toFixed(2)}x\n`);
    await appendResults(imageCount, bytes / imageCount, epochs, results, ratio);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

async function appendResults(images: number, averageBytes: number, epochs: number, results: Measurement[], ratio: number | undefined): Promise<void> {
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'RESULTS.md');
  const lines = [
    '',
    `## Loader throughput, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`node dist/bench/loader.js\`. ${images} generated JPEGs (~500x375, ${(averageBytes / 1024).toFixed(0)} KiB average), ` +
      `train transforms at 224 (random resized crop scale 0.08-1, ratio 0.75-1.333, flip, normalize, CHW), batch ${BATCH_SIZE}, ` +
      `${epochs} timed epochs after one warm-up. ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ` +
      `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, sharp.concurrency()=${sharp.concurrency()}, ` +
      `Node ${process.version}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}.`,
    '',
    '| loader | img/s |',
    '| --- | ---: |',
    ...results.map((r) => `| ${r.label} | ${r.imagesPerSecond.toFixed(1)} |`),
    '',
    ratio === undefined ? 'torchvision not measured.' : `Best tlkit / best torchvision: **${ratio.toFixed(2)}x**.`,
    '',
  ];
  const header = existsSync(file) ? '' : '# Benchmark results\n\nEach bench appends its own dated section.\n';
  await fs.appendFile(file, header + lines.join('\n'));
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
