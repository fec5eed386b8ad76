/**
 * Engine benchmark: ResNet50 at 224 px batch 8, ResNet-18 at 224 px batch 16 and the demo's source
 * model (ResNet-18 width 16, small-input stem, 1x28x28, batch 64), tlkit (ONNX Runtime) against
 * PyTorch on the same machine in one run. Each scenario runs in its own child process on each side, so the peak RSS
 * (VmHWM) is per scenario. The parent alternates single steps between the two children (never
 * both at once, and with a pause between them, common.ts settle), so on a shared, noisy machine
 * both sides see the same load over time.
 *
 *   npm run bench:engine -- [--only fc,full] [--warmup 2] [--iters 5] [--no-write]
 *
 * Writes (replaces) the "## Engine: ResNet50 ..." section of bench/RESULTS.md.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { resnet18, resnet50, type ResNet } from '../src/models/resnet.js';
import { seedInitializers } from '../src/nn/init.js';
import { InferenceRunner } from '../src/runtime/inference.js';
import { TrainStep } from '../src/runtime/train-step.js';
import { cpuModel, hasAvx512, median, option, settle } from './common.js';
import { replaceResultsSection } from './results-file.js';

type TorchModel = 'resnet50' | 'resnet18' | 'resnet18-small';
interface ScenarioSpec {
  title: string;
  target: number;
  model: TorchModel;
  batch: number;
  image: readonly [number, number, number];
  /** What the step trains (the torch side's scenario names). */
  mode: 'inference' | 'full' | 'bn-frozen' | 'fc' | 'layer4-fc';
}

const R50 = { model: 'resnet50', batch: 8, image: [3, 224, 224] } as const;
const SCENARIOS: Record<string, ScenarioSpec> = {
  small: { title: 'demo source model: ResNet-18 w16 small-input 1x28x28 b64, BN training', target: 1.0, model: 'resnet18-small', batch: 64, image: [1, 28, 28], mode: 'full' },
  'r18-full': { title: 'ResNet-18 224 b16 full fine-tune, BN training', target: 1.0, model: 'resnet18', batch: 16, image: [3, 224, 224], mode: 'full' },
  inference: { title: 'ResNet-50 b8 inference', target: 2.0, ...R50, mode: 'inference' },
  full: { title: 'ResNet-50 b8 full fine-tune, BN training', target: 1.0, ...R50, mode: 'full' },
  'bn-frozen': { title: 'ResNet-50 b8 all weights, BN frozen', target: 1.3, ...R50, mode: 'bn-frozen' },
  fc: { title: 'ResNet-50 b8 fc only (frozen body)', target: 2.0, ...R50, mode: 'fc' },
  'layer4-fc': { title: 'ResNet-50 b8 layer4 + fc, BN frozen', target: 1.0, ...R50, mode: 'layer4-fc' },
};
type Scenario = keyof typeof SCENARIOS;

const CLASSES = 2;
const THREADS = 2;
/** Peak RSS of a training scenario, tlkit over PyTorch, at most this. */
const RSS_TARGET = 1.3;
/** glibc settings that stop PyTorch's per-step page faults (see the engine notes): a fair baseline. */
const TORCH_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '17179869184', MALLOC_TOP_PAD_: '1073741824' };
const TORCH_PYTHON = '/usr/bin/python3';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

function peakRssKb(): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.split(/\s+/)[1]) : -1;
}


interface StepReply {
  ms: number;
  loss: number;
}

/** torchvision's padding ('pad') and conv init (kaiming fan-out): the same shapes and value ranges on both sides. */
function buildNet(model: TorchModel): ResNet {
  const common = { numClasses: CLASSES, padMode: 'pad', weightInit: { kind: 'he-normal', mode: 'fan-out' } } as const;
  if (model === 'resnet18-small') return resnet18({ ...common, inChannels: 1, width: 16, smallInput: true });
  return model === 'resnet18' ? resnet18(common) : resnet50(common);
}

/** Builds one scenario on the tlkit side, inside this (child) process; returns one step of work. */
async function buildTlkit(scenario: Scenario): Promise<() => Promise<number>> {
  seedInitializers(0);
  const { model, batch, image, mode } = SCENARIOS[scenario]!;
  const net = buildNet(model);
  const images = new Float32Array(batch * image[0] * image[1] * image[2]).map((_, i) => ((i * 2654435761) % 1000) / 1000);
  const labels = Array.from({ length: batch }, (_, i) => i % CLASSES);
  const session = { threads: THREADS };
  if (mode === 'inference') {
    net.eval();
    const runner = await InferenceRunner.create(net, image, session);
    return async () => (await runner.run(images, batch)).data[0]!;
  }
  if (mode !== 'full') net.eval();
  if (mode === 'fc') net.freeze().unfreeze('fc');
  if (mode === 'layer4-fc') net.freeze().unfreeze('layer4', 'fc');
  const step = await TrainStep.create(net, {
    inputShape: image,
    optimizer: { kind: 'momentum', momentum: 0.9, weightDecay: 1e-4 },
    bnTraining: mode === 'full',
    session,
  });
  return async () => (await step.step(images, labels, 1e-3)).loss;
}

/** The child side of the step protocol (the same one bench/engine_torch.py speaks). */
async function serveTlkit(scenario: Scenario): Promise<void> {
  const setupStart = performance.now();
  const work = await buildTlkit(scenario);
  console.log(JSON.stringify({ ready: true, setup_ms: performance.now() - setupStart }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'step') {
      const start = performance.now();
      const loss = await work();
      console.log(JSON.stringify({ ms: performance.now() - start, loss }));
    } else if (line === 'done') {
      break;
    } else {
      throw new Error(`unknown command ${line}`);
    }
  }
  console.log(JSON.stringify({ vmhwm_kb: peakRssKb() }));
  process.exit(0);
}

/** A child process driven one line at a time: each command is answered by one JSON line. */
class SteppedChild {
  private readonly lines: AsyncIterator<string>;
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';

  constructor(readonly what: string, command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, args, { cwd: repoRoot, env, stdio: 'pipe' });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** The next JSON line (other output is skipped). */
  async reply<R>(): Promise<R> {
    for (;;) {
      const next = await this.lines.next();
      if (next.done) throw new Error(`${this.what} exited early:\n${this.stderr}`);
      if (next.value.startsWith('{')) return JSON.parse(next.value) as R;
    }
  }

  async send<R>(command: string): Promise<R> {
    this.child.stdin.write(`${command}\n`);
    return this.reply<R>();
  }
}

interface SideResult {
  ms: number[];
  loss: number;
  vmhwm_kb: number;
  setup_ms?: number;
}

/** Runs one scenario on both sides, alternating single steps; warm-up steps are not timed. */
async function measureScenario(scenario: Scenario, warmup: number, iters: number): Promise<[SideResult, SideResult]> {
  const starts: Array<() => SteppedChild> = [
    () => new SteppedChild(`tlkit ${scenario}`, process.execPath, [fileURLToPath(import.meta.url), '--child', scenario], { ...process.env }),
    () => new SteppedChild(`PyTorch ${scenario}`, TORCH_PYTHON, [path.join(repoRoot, 'bench', 'engine_torch.py'), SCENARIOS[scenario]!.mode, '--model', SCENARIOS[scenario]!.model, '--batch', String(SCENARIOS[scenario]!.batch), '--classes', String(CLASSES)], { ...process.env, ...TORCH_MALLOC_ENV }),
  ];
  const sides: SteppedChild[] = [];
  const results: SideResult[] = [];
  // Started one after the other: graph building and session creation would contend too.
  for (const start of starts) {
    const side = start();
    const ready = await side.reply<{ setup_ms?: number }>();
    sides.push(side);
    results.push({ ms: [], loss: NaN, vmhwm_kb: -1, setup_ms: ready.setup_ms });
  }
  for (let i = 0; i < warmup + iters; i++) {
    for (const [k, side] of sides.entries()) {
      await settle();
      const reply = await side.send<StepReply>('step');
      if (i >= warmup) results[k]!.ms.push(reply.ms);
      results[k]!.loss = reply.loss;
    }
  }
  for (const [k, side] of sides.entries()) results[k]!.vmhwm_kb = (await side.send<{ vmhwm_kb: number }>('done')).vmhwm_kb;
  return [results[0]!, results[1]!];
}



function torchVersion(): string {
  try {
    return execFileSync(TORCH_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unavailable';
  }
}

interface Row {
  scenario: Scenario;
  tlkitMs: number;
  torchMs: number;
  tlkitRssMb: number;
  torchRssMb: number;
  setupS: number;
}

const imagesPerSecond = (scenario: Scenario, ms: number) => (SCENARIOS[scenario]!.batch * 1000) / ms;

function formatTable(rows: Row[]): string {
  const lines = [
    '| scenario | tlkit ms | tlkit img/s | PyTorch ms | PyTorch img/s | ratio | target | met | tlkit peak RSS MB | PyTorch peak RSS MB | RSS ratio (target <= 1.3x in training) |',
    '|---|---:|---:|---:|---:|---:|---:|:-:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ratio = r.torchMs / r.tlkitMs;
    const { title, target, mode } = SCENARIOS[r.scenario]!;
    const rss = r.tlkitRssMb / r.torchRssMb;
    const rssCell = mode === 'inference' ? `${rss.toFixed(2)}x` : `${rss.toFixed(2)}x (${rss <= RSS_TARGET ? 'met' : 'not met'})`;
    lines.push(`| ${title} | ${r.tlkitMs.toFixed(0)} | ${imagesPerSecond(r.scenario, r.tlkitMs).toFixed(1)} | ${r.torchMs.toFixed(0)} | ${imagesPerSecond(r.scenario, r.torchMs).toFixed(1)} | ${ratio.toFixed(2)}x | ${target.toFixed(1)}x | ${ratio >= target ? 'yes' : 'no'} | ${r.tlkitRssMb.toFixed(0)} | ${r.torchRssMb.toFixed(0)} | ${rssCell} |`);
  }
  return lines.join('\n');
}

function section(rows: Row[], warmup: number, iters: number, loadAtStart: number): string {
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  return [
    '## Engine: training steps and inference, tlkit (onnxruntime-node) vs PyTorch',
    '',
    `Measured ${date} UTC on ${cpuModel()} (AVX-512: ${hasAvx512() ? "yes" : "no, AVX2 only"}), ${os.cpus().length} cores, Node ${process.version}, PyTorch ${torchVersion()} (Debian), ${THREADS} threads each.`,
    `Command: \`npm run bench:engine\`. Random weights, ${CLASSES} classes, SGD momentum 0.9 + weight decay 1e-4; median of ${iters} timed iterations after ${warmup} warm-up ones;`,
    'ratio = PyTorch time / tlkit time (above 1: tlkit faster). Each scenario runs in its own process on each side; the two processes',
    'take single steps in turn (never both at once, with a 150 ms pause between steps so that neither side\'s spin-waiting threads run into the other\'s step), so both see the same machine load;',
    `peak RSS is that process's VmHWM. PyTorch runs with tuned glibc malloc (${Object.entries(TORCH_MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}).`,
    'Scenarios: full = every weight trained, BN on batch statistics; BN frozen = every weight trained, BN on moving statistics',
    '(torch: model.eval() with requires_grad on all); fc only = body frozen (tlkit: an inference graph with BN folded; torch: body under',
    'no_grad); layer4 + fc = layers up to layer3 frozen, layer4 and fc trained, BN frozen. Shared machines drift: compare ratios within a run.',
    '',
    formatTable(rows),
    '',
    `Load average (1 min) at start and end of the run: ${loadAtStart.toFixed(1)} and ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores${hasAvx512() ? '' : '; the CPU has no AVX-512'}. Other jobs on the machine slow both sides; the ratios are what this bench reports.`,
    '',
    `tlkit set-up per scenario (network, graph build, inference session; a training session is built in the first warm-up step), s: ${rows.map((r) => `${r.scenario} ${r.setupS.toFixed(1)}`).join(', ')}.`,
    '',
  ].join('\n');
}


async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const warmup = Number(option(args, '--warmup') ?? 2);
  const iters = Number(option(args, '--iters') ?? 5);
  if (!(iters >= 1) || !(warmup >= 0)) throw new Error('--iters must be >= 1 and --warmup >= 0');
  const child = option(args, '--child');
  if (child) {
    if (!(child in SCENARIOS)) throw new Error(`unknown scenario ${child}`);
    return serveTlkit(child as Scenario);
  }
  const only = option(args, '--only')?.split(',') ?? Object.keys(SCENARIOS);
  for (const s of only) if (!(s in SCENARIOS)) throw new Error(`unknown scenario ${s}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const loadAtStart = os.loadavg()[0]!;
  const rows: Row[] = [];
  for (const scenario of only as Scenario[]) {
    const [ours, theirs] = await measureScenario(scenario, warmup, iters);
    const row: Row = {
      scenario,
      tlkitMs: median(ours.ms),
      torchMs: median(theirs.ms),
      tlkitRssMb: ours.vmhwm_kb / 1024,
      torchRssMb: theirs.vmhwm_kb / 1024,
      setupS: (ours.setup_ms ?? 0) / 1000,
    };
    rows.push(row);
    // A random network's training may diverge within the timed steps (JSON carries NaN as null).
    const loss = (value: number | null) => (value === null || !Number.isFinite(value) ? 'not finite' : value.toFixed(4));
    console.error(`${scenario}: tlkit ${ours.ms.map((m) => m.toFixed(0)).join(' ')} ms (loss ${loss(ours.loss)}); PyTorch ${theirs.ms.map((m) => m.toFixed(0)).join(' ')} ms (loss ${loss(theirs.loss)})`);
  }
  console.log(formatTable(rows));
  // A partial run (--only) would drop the other rows of the section, so only a full run writes it.
  const complete = only.length === Object.keys(SCENARIOS).length;
  if (complete && !args.includes('--no-write')) console.log(`wrote ${await replaceResultsSection('## Engine: ', section(rows, warmup, iters, loadAtStart))}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
