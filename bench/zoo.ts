/**
 * Model-zoo bench: inference and a full fine-tune step (BN training) of mobilenet_v3_large and
 * efficientnet_b0 at 224 px, batch 8, tlkit against PyTorch (bench/zoo_torch.py) in one run.
 * Steps alternate between the two sides (never both at once), medians are compared as ratios
 * (PyTorch ms / tlkit ms: above 1 = tlkit faster). Kept apart from bench/engine.ts.
 *
 *   node dist/bench/zoo.js [--iters 5] [--warmup 2] [--only mobilenet_v3_large:inference,...] [--no-write]
 *
 * Appends (replaces) the "## Model zoo" section of bench/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createModel } from '../src/models/registry.js';
import { seedInitializers } from '../src/nn/init.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { TrainStep } from '../src/runtime/train-step.js';
import { cpuDescription, median, option, settle } from './common.js';
import { replaceResultsSection } from './results-file.js';

const BATCH = 8;
const SIZE = 224;
const CLASSES = 2;
const MODELS = ['mobilenet_v3_large', 'efficientnet_b0'] as const;
const MODES = ['inference', 'full'] as const;
const TORCH_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '17179869184', MALLOC_TOP_PAD_: '1073741824' };
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function tlkitStep(model: string, mode: (typeof MODES)[number]): Promise<{ step: () => Promise<number>; release: () => Promise<void> }> {
  seedInitializers(0);
  const net = createModel(model, { numClasses: CLASSES });
  const images = new Float32Array(BATCH * 3 * SIZE * SIZE).map((_, i) => ((i * 2654435761) % 1000) / 1000);
  const labels = Array.from({ length: BATCH }, (_, i) => i % CLASSES);
  if (mode === 'inference') {
    net.eval();
    const runner = await InferenceRunner.create(net, [3, SIZE, SIZE], { threads: 2 });
    return { step: async () => (await runner.run(images, BATCH)).data[0]!, release: () => runner.release() };
  }
  const trainer = await TrainStep.create(net, { inputShape: [3, SIZE, SIZE], optimizer: { kind: 'momentum', momentum: 0.9, weightDecay: 1e-4 }, bnTraining: true, session: { threads: 2 } });
  return { step: async () => (await trainer.step(images, labels, 1e-3)).loss, release: () => trainer.release() };
}

function torchSide(model: string, mode: string) {
  const child = spawn('/usr/bin/python3', [path.join(repoRoot, 'bench/zoo_torch.py'), mode, model, '--batch', String(BATCH), '--size', String(SIZE), '--classes', String(CLASSES)], {
    cwd: repoRoot, env: { ...process.env, ...TORCH_MALLOC_ENV }, stdio: 'pipe',
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, number | boolean>> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`PyTorch side ended: ${stderr}`);
    return JSON.parse(value as string) as Record<string, number | boolean>;
  };
  return {
    ready: next,
    step: async () => {
      child.stdin.write('step\n');
      return (await next()).ms as number;
    },
    done: async () => {
      child.stdin.write('done\n');
      await next();
      child.stdin.end();
    },
  };
}

interface Row {
  model: string;
  mode: string;
  tlkitMs: number;
  torchMs: number;
}

async function measure(model: string, mode: (typeof MODES)[number], warmup: number, iters: number): Promise<Row> {
  const torch = torchSide(model, mode);
  await torch.ready();
  const ours = await tlkitStep(model, mode);
  try {
    const tl: number[] = [];
    const pt: number[] = [];
    for (let i = 0; i < warmup + iters; i++) {
      // A pause before each side's step, so neither side's spin-waiting threads run into the other's (common.ts settle).
      await settle();
      const start = performance.now();
      await ours.step();
      const tlMs = performance.now() - start;
      await settle();
      const ptMs = await torch.step();
      if (i >= warmup) {
        tl.push(tlMs);
        pt.push(ptMs);
      }
    }
    return { model, mode, tlkitMs: median(tl), torchMs: median(pt) };
  } finally {
    await ours.release();
    await torch.done();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const iters = Number(option(args, '--iters') ?? 5);
  const warmup = Number(option(args, '--warmup') ?? 2);
  const only = option(args, '--only')?.split(',');
  const loadStart = os.loadavg()[0]!;
  const rows: Row[] = [];
  for (const model of MODELS) {
    for (const mode of MODES) {
      if (only && !only.includes(`${model}:${mode}`)) continue;
      const row = await measure(model, mode, warmup, iters);
      rows.push(row);
      console.log(`${model} ${mode}: tlkit ${row.tlkitMs.toFixed(0)} ms, PyTorch ${row.torchMs.toFixed(0)} ms, ratio ${(row.torchMs / row.tlkitMs).toFixed(2)}x`);
    }
  }
  const loadEnd = os.loadavg()[0]!;
  const table = [
    '| model | scenario | tlkit ms/step | PyTorch ms/step | PyTorch / tlkit | target |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${r.mode === 'full' ? 'full fine-tune, BN training' : 'inference'} | ${r.tlkitMs.toFixed(0)} | ${r.torchMs.toFixed(0)} | ${(r.torchMs / r.tlkitMs).toFixed(2)}x | ${r.mode === 'full' ? '>= 1.0x' : '>= 2x'} |`),
  ];
  const text = [
    `## Model zoo: MobileNetV3-Large and EfficientNet-B0, 224 px, batch ${BATCH}`,
    '',
    `\`node dist/bench/zoo.js --iters ${iters} --warmup ${warmup}\` on ${new Date().toISOString().slice(0, 10)}; CPU ${cpuDescription()}, 2 threads each side, load average ${loadStart.toFixed(1)} -> ${loadEnd.toFixed(1)} (shared machine). Steps alternate between the sides; medians of ${iters}. PyTorch ${'1.13'} with the tuned malloc settings.`,
    '',
    ...table,
    '',
  ].join('\n');
  console.log(text);
  if (process.argv.includes('--no-write')) return;
  await replaceResultsSection('## Model zoo', text);
}

await main();
