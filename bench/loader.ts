/**
 * Loader throughput: tlkit's ImageFolder + the tutorial's training transforms + DataLoader (batch 18) against
 * torchvision's ImageFolder + RandomResizedCrop/RandomHorizontalFlip/ToTensor/Normalize + DataLoader, on the
 * same generated JPEGs (web-size and phone-size photos), in one run. Appends a dated section to bench/RESULTS.md.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/loader.js [--images 200] [--phone-images 24] [--epochs 2] [--rounds 3] [--no-torch] [--no-record]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { ImageFolder } from '../src/data/image-folder.js';
import { DataLoader } from '../src/data/loader.js';
import { trainTransforms } from '../src/data/transforms.js';
import { PHOTO_SIZES, writeBenchImages } from './loader-images.js';

const BATCH_SIZE = 18;
const TORCH_PYTHON = '/usr/bin/python3';

interface Measurement {
  label: string;
  imagesPerSecond: number;
  /** Process CPU time (all threads) per image: much steadier than wall time on a busy machine. */
  cpuMsPerImage: number | undefined;
}

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const FIRST_EPOCH = 'first epoch (no cache yet)';

/**
 * The warm-up epoch fills the loader's decoded-image cache (on by default in Node), so on web photos the timed
 * epochs resample decoded pixels from memory and decode no JPEG; the warm-up epoch is timed too, as the
 * first-epoch row (every JPEG decoded, as in the first epoch of a training run). Phone photos are not cached.
 */
async function timeTlkit(root: string, concurrency: number, epochs: number): Promise<Measurement[]> {
  const dataset = await ImageFolder.open(root);
  const loader = new DataLoader(dataset, { batchSize: BATCH_SIZE, shuffle: true, seed: 1, transforms: trainTransforms(224), concurrency });
  const timeEpochs = async (n: number, label: string): Promise<Measurement> => {
    let count = 0;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    for (let e = 0; e < n; e++) for await (const batch of loader) count += batch.shape[0];
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    return { label, imagesPerSecond: count / seconds, cpuMsPerImage: (cpu.user + cpu.system) / 1000 / count };
  };
  const first = await timeEpochs(1, `tlkit concurrency=${concurrency}, ${FIRST_EPOCH}`); // the warm-up epoch, like the torch side's
  return [first, await timeEpochs(epochs, `tlkit concurrency=${concurrency}`)];
}

function timeTorch(root: string, epochs: number): Measurement[] {
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'loader_torch.py');
  const output = execFileSync(TORCH_PYTHON, [script, root, '--epochs', String(epochs), '--batch-size', String(BATCH_SIZE)], {
    encoding: 'utf8',
  });
  return output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { workers: number; img_per_s: number; cpu_ms_per_img: number | null })
    .map((r) => ({
      label: `torchvision num_workers=${r.workers}`,
      imagesPerSecond: r.img_per_s,
      cpuMsPerImage: r.cpu_ms_per_img ?? undefined,
    }));
}

interface SizeResult {
  size: keyof typeof PHOTO_SIZES;
  images: number;
  averageBytes: number;
  results: Measurement[];
  ratio: number | undefined;
  cpuRatio: number | undefined;
  /** The same ratios with tlkit's first epoch, before its decoded-image cache is filled. */
  firstRatio: number | undefined;
  firstCpuRatio: number | undefined;
}

async function benchSize(size: keyof typeof PHOTO_SIZES, imageCount: number, epochs: number, rounds: number, torchAvailable: boolean): Promise<SizeResult> {
  const root = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-bench-loader-'));
  try {
    const bytes = await writeBenchImages(root, imageCount, ['cat', 'dog'], 1, size);
    process.stdout.write(`${size}: ${imageCount} JPEGs, ${(bytes / imageCount / 1024).toFixed(0)} KiB on average, in ${root}\n`);
    // The machine is shared, so configurations alternate over several rounds and each keeps its best round.
    const bestOf = new Map<string, Measurement>();
    const record = (m: Measurement): void => {
      const previous = bestOf.get(m.label);
      bestOf.set(m.label, {
        label: m.label,
        imagesPerSecond: Math.max(previous?.imagesPerSecond ?? 0, m.imagesPerSecond),
        cpuMsPerImage: minimum(previous?.cpuMsPerImage, m.cpuMsPerImage),
      });
      process.stdout.write(`${size} ${m.label}: ${m.imagesPerSecond.toFixed(1)} img/s, ${formatCpu(m.cpuMsPerImage)} CPU ms/img\n`);
    };
    for (let round = 0; round < rounds; round++) {
      process.stdout.write(`round ${round + 1}/${rounds}\n`);
      for (const concurrency of [4, 8]) (await timeTlkit(root, concurrency, epochs)).forEach(record);
      if (torchAvailable) timeTorch(root, epochs).forEach(record);
    }
    const results = [...bestOf.values()];
    const pick = (prefix: string, first: boolean): Measurement[] => results.filter((r) => r.label.startsWith(prefix) && r.label.endsWith(FIRST_EPOCH) === first);
    const best = (prefix: string, first = false): Measurement | undefined => pick(prefix, first).sort((a, b) => b.imagesPerSecond - a.imagesPerSecond)[0];
    const cpuMs = (prefix: string, first = false): number | undefined => pick(prefix, first).reduce<number | undefined>((a, r) => minimum(a, r.cpuMsPerImage), undefined);
    const torch = best('torchvision');
    const ratioOf = (first: boolean): number | undefined => (torch ? best('tlkit', first)!.imagesPerSecond / torch.imagesPerSecond : undefined);
    const cpuRatioOf = (first: boolean): number | undefined => (cpuMs('torchvision') !== undefined && cpuMs('tlkit', first) !== undefined ? cpuMs('torchvision')! / cpuMs('tlkit', first)! : undefined);
    const [ratio, cpuRatio, firstRatio, firstCpuRatio] = [ratioOf(false), cpuRatioOf(false), ratioOf(true), cpuRatioOf(true)];
    if (ratio !== undefined) process.stdout.write(`${size}: best tlkit / best torchvision: ${ratio.toFixed(2)}x (tlkit's first epoch: ${firstRatio!.toFixed(2)}x)\n`);
    if (cpuRatio !== undefined) process.stdout.write(`${size}: CPU time per image, torchvision (num_workers=0) / tlkit: ${cpuRatio.toFixed(2)}x (tlkit's first epoch: ${firstCpuRatio!.toFixed(2)}x)\n`);
    return { size, images: imageCount, averageBytes: bytes / imageCount, results, ratio, cpuRatio, firstRatio, firstCpuRatio };
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const epochs = argument('--epochs', 2);
  const rounds = argument('--rounds', 3);
  const torchAvailable = !process.argv.includes('--no-torch') && existsSync(TORCH_PYTHON);
  const loadBefore = loadavg()[0]!;
  const sizes: SizeResult[] = [];
  const web = argument('--images', 200);
  const phone = argument('--phone-images', 24);
  if (web > 0) sizes.push(await benchSize('web', web, epochs, rounds, torchAvailable));
  if (phone > 0) sizes.push(await benchSize('phone', phone, epochs, rounds, torchAvailable));
  const load = [loadBefore, loadavg()[0]!];
  if (!process.argv.includes('--no-record')) await appendResults(epochs, rounds, sizes, load);
}

async function appendResults(epochs: number, rounds: number, sizes: SizeResult[], load: number[]): Promise<void> {
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'RESULTS.md');
  const lines = [
    '',
    `## Loader throughput, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`node dist/bench/loader.js\`. Generated photo-like JPEGs (web ~500x375, phone ~4000x3000, 20% portrait, quality 90 with per-pixel grain), ` +
      `train transforms at 224 (random resized crop scale 0.08-1, ratio 0.75-1.333, flip, normalize, CHW), batch ${BATCH_SIZE}, ` +
      `${epochs} timed epochs after one warm-up, best of ${rounds} alternating rounds. ` +
      `tlkit's DataLoader keeps decoded images in memory (its decoded-image cache, on by default; web-size photos only, not phone photos), ` +
      `so on web photos its timed epochs read decoded pixels from memory and decode no JPEG, while torchvision decodes every image each epoch; ` +
      `the rows "${FIRST_EPOCH}" time tlkit's warm-up epoch, which decodes every JPEG. ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ` +
      `load average (1 min) ${load.map((l) => l.toFixed(1)).join(' before, ')} after, ` +
      `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, sharp.concurrency()=${sharp.concurrency()}, ` +
      `Node ${process.version}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}.`,
    '',
    '| photos | loader | img/s (best round) | CPU ms per image (best round) |',
    '| --- | --- | ---: | ---: |',
    ...sizes.flatMap((s) => s.results.map((r) => `| ${s.size} (${s.images}, ${(s.averageBytes / 1024).toFixed(0)} KiB avg) | ${r.label} | ${r.imagesPerSecond.toFixed(1)} | ${formatCpu(r.cpuMsPerImage)} |`)),
    '',
    ...sizes.map((s) =>
      `${s.size}: best tlkit / best torchvision throughput ${s.ratio === undefined ? 'n/a (torchvision not measured)' : `**${s.ratio.toFixed(2)}x**`}; ` +
      `CPU time per image, torchvision (num_workers=0) / tlkit: ${s.cpuRatio === undefined ? 'n/a' : `**${s.cpuRatio.toFixed(2)}x**`}; ` +
      `tlkit's first epoch: throughput ${s.firstRatio === undefined ? 'n/a' : `${s.firstRatio.toFixed(2)}x`}, CPU ${s.firstCpuRatio === undefined ? 'n/a' : `${s.firstCpuRatio.toFixed(2)}x`}.`),
    '',
  ];
  const header = existsSync(file) ? '' : '# Benchmark results\n\nEach bench appends its own dated section.\n';
  await fs.appendFile(file, header + lines.join('\n'));
}

function minimum(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function formatCpu(ms: number | undefined): string {
  return ms === undefined ? 'n/a' : ms.toFixed(2);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
