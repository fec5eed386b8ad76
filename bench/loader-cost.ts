/**
 * Where the CPU of one web-size photo goes (issue 11): each stage of tlkit's per-image path beside the same
 * stage in PIL/torchvision, one image at a time, alternating rounds, medians. tlkit's CPU is split by thread
 * (Linux /proc): the main thread (JS, sharp's option parsing), Node's other threads (libuv pool, where sharp
 * builds each libvips pipeline) and libvips' worker (the pixels). Stages:
 *   tiny: a 16x16 JPEG decoded to raw (sharp's fixed cost per call); decode: a web photo decoded to raw RGB;
 *   sharp call: the one sharp call the train transforms make (file read, decode + crop + shrink, as drawn), and the
 *   same from bytes already in memory (PIL's stage is from memory); the bench's PIL stages are sequential in one process.
 *   apply: the whole Pipeline.apply (sharp call, JS enlarge, flip, normalize to CHW).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/loader-cost.js [--images 200] [--rounds 3] [--record]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { ImageFolder } from '../src/data/image-folder.js';
import { imageBackend, useImageBackend } from '../src/data/image-backend.js';
import { mixSeed, mulberry32 } from '../src/data/random.js';
import type { GeometricOp, ImageInfo } from '../src/data/sharp-stages.js';
import { decodeAndResample } from '../src/data/sharp-stages.js';
import type { ImageSource } from '../src/data/dataset.js';
import { compose, trainTransforms } from '../src/data/transforms.js';
import { cpuDescription, median, option } from './common.js';
import { writeBenchImages } from './loader-images.js';

const TORCH_PYTHON = '/usr/bin/python3';

interface Split { main: number; node: number; vips: number; total: number }

/** CPU ns of every thread of this process by role; undefined where /proc is not there. */
function threadTimes(): Omit<Split, 'total'> | undefined {
  try {
    const times = { main: 0, node: 0, vips: 0 };
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
        if (Number(tid) === process.pid) times.main += ns;
        else if (name.startsWith('libvips')) times.vips += ns;
        else times.node += ns;
      } catch {
        // the thread ended between the listing and the read
      }
    }
    return times;
  } catch {
    return undefined;
  }
}

/** CPU ms per item of `run` (which returns the item count), split by thread where the OS tells. */
async function measure(run: () => Promise<number>): Promise<Split> {
  const before = threadTimes();
  const cpu = process.cpuUsage();
  const count = await run();
  const used = process.cpuUsage(cpu);
  const after = threadTimes();
  const total = (used.user + used.system) / 1000 / count;
  if (!before || !after) return { main: NaN, node: NaN, vips: NaN, total };
  const ms = (k: keyof typeof before) => (after[k] - before[k]) / 1e6 / count;
  return { main: ms('main'), node: ms('node'), vips: ms('vips'), total };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const images = Number(option(args, '--images') ?? 200);
  const rounds = Number(option(args, '--rounds') ?? 3);
  const work = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-bench-loader-cost-'));
  const root = path.join(work, 'images');
  const loadBefore = loadavg()[0]!;
  try {
    await writeBenchImages(root, images, ['cat', 'dog'], 1, 'web');
    const tinyPath = path.join(work, 'tiny.jpg');
    await fs.writeFile(tinyPath, await sharp(Buffer.alloc(16 * 16 * 3, 100), { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toBuffer());
    const dataset = await ImageFolder.open(root);
    const pipeline = compose(trainTransforms(224));
    const into = new Float32Array(3 * 224 * 224);
    const sources = Array.from({ length: dataset.length }, (_, i) => dataset.sourceAt(i));
    const bytes = await Promise.all(sources.map((s) => fs.readFile((s as { path: string }).path)));
    const tiny = await fs.readFile(tinyPath);
    // The sharp call of each image with the crop the transforms draw for it (seed as the loader's epoch 0).
    const calls: Array<{ source: ImageSource; ops: readonly GeometricOp[]; info: ImageInfo | undefined; data: Buffer }> = [];
    let current = 0;
    const backend = imageBackend();
    useImageBackend({ ...backend, decodeAndResample: (source, ops, channels, info) => { calls.push({ source, ops, info, data: bytes[current]! }); return backend.decodeAndResample(source, ops, channels, info); } });
    for (const [i, source] of sources.entries()) {
      current = i;
      await pipeline.apply(source, mulberry32(mixSeed(1, 0, i)), into);
    }
    useImageBackend(backend);

    const stages: Record<string, () => Promise<number>> = {
      tiny: async () => { for (let k = 0; k < 500; k++) await sharp(tiny).raw().toBuffer(); return 500; },
      decode: async () => { for (const b of bytes) await sharp(b).raw().toBuffer(); return bytes.length; },
      'sharp call': async () => { for (const c of calls) await decodeAndResample(c.source, c.ops, 3, c.info); return calls.length; },
      'sharp call, bytes in memory': async () => {
        for (const c of calls) await decodeAndResample({ kind: 'encoded', data: c.data }, c.ops, 3, c.info);
        return calls.length;
      },
      apply: async () => { for (const [i, source] of sources.entries()) await pipeline.apply(source, mulberry32(mixSeed(1, 0, i)), into); return sources.length; },
    };
    const tlkit: Record<string, Split[]> = {};
    const torch: Array<Record<string, number>> = [];
    const torchAvailable = !args.includes('--no-torch') && existsSync(TORCH_PYTHON);
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'loader_cost_torch.py');
    for (let round = 0; round < rounds; round++) {
      for (const [name, run] of Object.entries(stages)) (tlkit[name] ??= []).push(await measure(run));
      if (torchAvailable) torch.push(JSON.parse(execFileSync(TORCH_PYTHON, [script, root, tinyPath], { encoding: 'utf8' })) as Record<string, number>);
      process.stdout.write(`round ${round + 1}/${rounds} done\n`);
    }
    const med = (name: string, key: keyof Split) => median(tlkit[name]!.map((s) => s[key]));
    const pil = (key: string) => (torch.length ? median(torch.map((t) => t[key]!)) : NaN);
    const pilFor: Record<string, string> = {
      tiny: 'tiny_decode', decode: 'decode', 'sharp call': 'decode_crop_resize', 'sharp call, bytes in memory': 'decode_crop_resize', apply: 'full',
    };
    const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
    const lines = [
      '',
      `## Loader cost per web photo by stage, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      '',
      `Command: \`node dist/bench/loader-cost.js\`. ${images} generated web photos (~500x375, bench/loader-images.ts), one image at a time, ` +
        `medians of ${rounds} alternating rounds. ${cpuDescription()}, load average (1 min) ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after; ` +
        `sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}, sharp.concurrency()=${sharp.concurrency()}.`,
      '',
      '| stage | tlkit main thread | libuv pool (+ V8) | libvips worker | tlkit total | PIL/torchvision stage | ratio |',
      '| --- | ---: | ---: | ---: | ---: | --- | ---: |',
      ...Object.keys(stages).map((name) => {
        const total = med(name, 'total');
        const reference = pil(pilFor[name]!);
        return `| ${name} | ${f(med(name, 'main'))} | ${f(med(name, 'node'))} | ${f(med(name, 'vips'))} | ${f(total)} | ${pilFor[name]} ${f(reference)} | ${f(total / reference)}x |`;
      }),
      '',
      `sharp's decode alone / torchvision's whole transform (decode, RandomResizedCrop, flip, ToTensor, Normalize): ${f(med('decode', 'total') / pil('full'))}x CPU.`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (args.includes('--record')) {
      await fs.appendFile(path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'RESULTS.md'), lines.join('\n'));
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
