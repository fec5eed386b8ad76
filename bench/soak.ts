/**
 * Soak: many inference sessions and many short training runs in one process; RSS must stay flat
 * (an ORT session that is never released keeps its weights and arena, tens of MB each).
 * With --memory: the training memory estimate (src/train/memory.ts) against the measured peak RSS,
 * each configuration in its own process. Prints a markdown section for bench/RESULTS.md.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/soak.js [--predicts 200] [--trainings 50] [--memory]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createResNet } from '../src/models/registry.js';
import { seedInitializers } from '../src/nn/init.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { TrainStep } from '../src/runtime/train-step.js';
import { estimateTrainingMemory } from '../src/train/memory.js';
import { runTinyTraining } from '../test/helpers/tiny-training.js';

const MB = 1024 * 1024;

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function statusMb(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : process.memoryUsage().rss / MB;
}

interface Phase {
  name: string;
  iterations: number;
  startMb: number;
  endMb: number;
  maxMb: number;
  /** RSS after the first tenth of the iterations: allocators and JIT have warmed up by then. */
  warmMb: number;
  seconds: number;
}

async function soak(name: string, iterations: number, body: (i: number) => Promise<void>): Promise<Phase> {
  const startMb = statusMb('VmRSS');
  let maxMb = startMb;
  let warmMb = startMb;
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    await body(i);
    const now = statusMb('VmRSS');
    maxMb = Math.max(maxMb, now);
    if (i + 1 === Math.ceil(iterations / 10)) warmMb = now;
  }
  return { name, iterations, startMb, endMb: statusMb('VmRSS'), maxMb, warmMb, seconds: (performance.now() - started) / 1000 };
}

async function soakPhases(): Promise<string[]> {
  const predicts = argument('--predicts', 200);
  const trainings = argument('--trainings', 50);
  seedInitializers(3);
  const net = createResNet('resnet18', { numClasses: 10, width: 16, smallInput: true });
  net.eval();
  const input = new Float32Array(8 * 3 * 32 * 32).map((_, i) => Math.sin(i));
  const predict = await soak(`predict: InferenceRunner create + run (batch 8) + release, resnet18 width 16 at 32 px`, predicts, async () => {
    const runner = await InferenceRunner.create(net, [3, 32, 32]);
    try {
      await runner.run(input, 8);
    } finally {
      await runner.release();
    }
  });
  const scratch = await mkdtemp(path.join(tmpdir(), 'tlkit-soak-'));
  const train = await soak('fit: 1 epoch, resnet18 width 4 on 16 1x12x12 images, best/last.ckpt written', trainings, async (i) => {
    await runTinyTraining({ epochs: 1, seed: i, checkpointDir: path.join(scratch, String(i % 2)), log: () => {} });
  });
  await rm(scratch, { recursive: true, force: true });
  const lines = [
    `Command: \`node dist/bench/soak.js --predicts ${predicts} --trainings ${trainings}\`; one process; RSS from /proc/self/status after each iteration.`,
    '',
    '| phase | iterations | RSS start MB | RSS after 10% MB | RSS end MB | RSS max MB | s |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...[predict, train].map((p) => `| ${p.name} | ${p.iterations} | ${p.startMb.toFixed(0)} | ${p.warmMb.toFixed(0)} | ${p.endMb.toFixed(0)} | ${p.maxMb.toFixed(0)} | ${p.seconds.toFixed(1)} |`),
  ];
  return lines;
}

const MEMORY_CASES: Array<{ model: string; size: number; batch: number; mode: 'full' | 'bn-frozen' | 'fc' }> = [
  { model: 'resnet50', size: 224, batch: 8, mode: 'full' },
  { model: 'resnet50', size: 224, batch: 2, mode: 'full' },
  { model: 'resnet50', size: 224, batch: 8, mode: 'bn-frozen' },
  { model: 'resnet50', size: 224, batch: 8, mode: 'fc' },
  { model: 'resnet18', size: 112, batch: 16, mode: 'full' },
  { model: 'resnet18', size: 112, batch: 4, mode: 'full' },
];

/** One configuration: estimate, then two real steps, then the process's peak RSS. Runs in a child. */
async function measureOne(model: string, size: number, batch: number, mode: string): Promise<void> {
  const net = createResNet(model, { numClasses: 2 });
  const bnTraining = mode === 'full';
  if (mode === 'fc') {
    net.freeze();
    net.unfreeze('fc.*');
  }
  net.train(bnTraining);
  const optimizer = { kind: 'momentum', momentum: 0.9 } as const;
  const estimate = estimateTrainingMemory(net, { inputShape: [3, size, size], batchSize: batch, optimizer, bnTraining });
  const step = await TrainStep.create(net, { inputShape: [3, size, size], optimizer, bnTraining });
  const images = new Float32Array(batch * 3 * size * size).map((_, i) => Math.sin(i));
  for (let i = 0; i < 2; i++) await step.step(images, new Int32Array(batch), 0.01);
  await step.release();
  process.stdout.write(JSON.stringify({ estimateMb: estimate.totalBytes / MB, peakMb: statusMb('VmHWM') }));
}

function memoryTable(): string[] {
  const script = fileURLToPath(import.meta.url);
  const rows = MEMORY_CASES.map(({ model, size, batch, mode }) => {
    const out = execFileSync(process.execPath, [script, '--measure', model, String(size), String(batch), mode], { encoding: 'utf8' });
    const { estimateMb, peakMb } = JSON.parse(out) as { estimateMb: number; peakMb: number };
    return `| ${model} | ${size} | ${batch} | ${mode} | ${estimateMb.toFixed(0)} | ${peakMb.toFixed(0)} | ${((estimateMb / peakMb - 1) * 100).toFixed(0)}% |`;
  });
  return [
    'Training memory estimate (src/train/memory.ts, checked by fit before a run) vs measured peak RSS (VmHWM after 2 steps,',
    'each case in its own process). Command: `node dist/bench/soak.js --memory`.',
    '',
    '| model | px | batch | trained | estimate MB | peak RSS MB | estimate error |',
    '|---|---:|---:|---|---:|---:|---:|',
    ...rows,
  ];
}

const measureAt = process.argv.indexOf('--measure');
if (measureAt >= 0) {
  const [model, size, batch, mode] = process.argv.slice(measureAt + 1);
  await measureOne(model!, Number(size), Number(batch), mode!);
} else {
  const header = [`## Reliability: soak and memory estimate, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, '', `${cpus().length} CPUs (${cpus()[0]?.model.trim()}), Node ${process.version}.`, ''];
  const sections = process.argv.includes('--memory') ? [...memoryTable(), ''] : [];
  if (!process.argv.includes('--no-soak')) sections.push(...(await soakPhases()));
  process.stdout.write(`${[...header, ...sections].join('\n')}\n`);
}
