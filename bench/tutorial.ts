/**
 * The tutorial's workload, tlkit vs PyTorch in one run: fixed-feature ResNet50 (random weights) at
 * 224 px on 240 train + 60 val generated JPEGs (the size of the tutorial's Canidae set), batch 18.
 *   1. one epoch with the tutorial's augmentation: `tlkit train --mode fixed-feature --epochs 1`
 *      vs bench/tutorial_torch.py --epochs 1 (targets >= 3x);
 *   2. ten epochs without augmentation: tlkit `--no-augment` (backbone features computed once and
 *      cached) vs PyTorch's plain 10-epoch loop with the same transforms (target >= 20x).
 * tlkit runs at --precision float32 and int8 (the frozen backbone as an int8 QDQ graph; the calibration on 32
 * training images happens before the first epoch, so it is in the wall time, not the epoch times; the
 * calibration cache is empty at the start; each int8 run is then repeated with its cache, as a user's second
 * run on the same data would be, e.g. with another learning rate: the calibration and agreement are read back). The sides run one after the other (never at once). PyTorch: Debian's /usr/bin/python3, 2 threads,
 * tuned malloc. Compared: the sum of the logged epoch times (training + validation, as the tutorial
 * measures them), and the whole processes' wall times (what a user waits for); tlkit's int8 runs are traced
 * (TLKIT_TRACE=1, src/util/trace.ts), so the section also says where their wall time went, phase by phase.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/tutorial.js [--no-record] [--skip-ten]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBenchImages } from './loader-images.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { parseTrace } from '../src/util/trace.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const TORCH_PYTHON = '/usr/bin/python3';
const TORCH_ENV = { MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '17179869184', MALLOC_TOP_PAD_: '1073741824', OMP_NUM_THREADS: '2' };
const SECTION = '## Tutorial workload: fixed-feature ResNet50, tlkit vs PyTorch';

interface SideResult {
  epochMs: number[];
  wallMs: number;
  /** tlkit's traced phases (TLKIT_TRACE), in order. */
  phases?: Array<{ phase: string; ms: number }>;
  /** tlkit: how long its training steps waited for the loader, summed over the epochs (run.json). */
  dataWaitMs?: number;
}

function epochTimes(stdout: string): number[] {
  return [...stdout.matchAll(/epoch time: ([\d.]+) ms/g)].map((m) => Number(m[1]));
}

type Precision = 'float32' | 'int8';

function runTlkit(data: string, out: string, epochs: number, augment: boolean, precision: Precision, home: string): SideResult {
  const args = [path.join(repo, 'bin/tlkit.js'), 'train', data, '--model', 'resnet50', '--mode', 'fixed-feature', '--epochs', String(epochs),
    '--batch-size', '18', '--lr', '0.001', '--momentum', '0.5', '--out', out, '--no-progress', '--precision', precision, ...(augment ? [] : ['--no-augment'])];
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, TLKIT_HOME: home, TLKIT_TRACE: '1' } });
  const wallMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`tlkit train failed: ${result.stderr}`);
  process.stdout.write(result.stdout);
  const history = (JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { history: Array<{ dataWaitMs?: number }> }).history;
  return { epochMs: epochTimes(result.stdout), wallMs, phases: parseTrace(result.stderr), dataWaitMs: sum(history.map((h) => h.dataWaitMs ?? 0)) };
}

function runTorch(data: string, epochs: number, augment: boolean): SideResult {
  const started = performance.now();
  const result = spawnSync(TORCH_PYTHON, [path.join(repo, 'bench/tutorial_torch.py'), data, '--epochs', String(epochs), ...(augment ? [] : ['--no-augment'])], {
    encoding: 'utf8', env: { ...process.env, ...TORCH_ENV }, maxBuffer: 1 << 26,
  });
  const wallMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`tutorial_torch.py failed: ${result.stderr}`);
  process.stdout.write(result.stdout);
  return { epochMs: epochTimes(result.stdout), wallMs };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

async function main(): Promise<void> {
  const record = !process.argv.includes('--no-record');
  const skipTen = process.argv.includes('--skip-ten');
  if (spawnSync(TORCH_PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status !== 0) throw new Error(`${TORCH_PYTHON} cannot import torch and torchvision`);
  const work = await fs.mkdtemp(path.join(tmpdir(), 'tlkit-bench-tutorial-'));
  try {
    const data = path.join(work, 'Canidae');
    await writeBenchImages(path.join(data, 'train'), 240, ['dogs', 'wolves'], 1);
    await writeBenchImages(path.join(data, 'val'), 60, ['dogs', 'wolves'], 2);
    const loadBefore = loadavg()[0]!;

    const precisions: Precision[] = ['float32', 'int8'];
    const tlkitOne = new Map<Precision, SideResult>();
    const tlkitTen = new Map<Precision, SideResult>();
    /** int8 again with the first int8 run's TLKIT_HOME: calibration and agreement from the cache. */
    const repeat = new Map<'one' | 'ten', SideResult>();
    const home = (name: string) => path.join(work, `home-${name}`); // a fresh calibration cache per run
    for (const p of precisions) {
      process.stdout.write(`# 1 epoch, augmented: tlkit --precision ${p}\n`);
      tlkitOne.set(p, runTlkit(data, path.join(work, `one-${p}`), 1, true, p, home(`one-${p}`)));
    }
    process.stdout.write('# 1 epoch, augmented: tlkit --precision int8, repeated with its calibration cache\n');
    repeat.set('one', runTlkit(data, path.join(work, 'one-int8-again'), 1, true, 'int8', home('one-int8')));
    process.stdout.write('# 1 epoch, augmented: PyTorch\n');
    const torchOne = runTorch(data, 1, true);
    let torchTen: SideResult | undefined;
    if (!skipTen) {
      for (const p of precisions) {
        process.stdout.write(`# 10 epochs, no augmentation: tlkit --precision ${p} (feature cache)\n`);
        tlkitTen.set(p, runTlkit(data, path.join(work, `ten-${p}`), 10, false, p, home(`ten-${p}`)));
      }
      process.stdout.write('# 10 epochs, no augmentation: tlkit --precision int8, repeated with its calibration cache\n');
      repeat.set('ten', runTlkit(data, path.join(work, 'ten-int8-again'), 10, false, 'int8', home('ten-int8')));
      process.stdout.write('# 10 epochs, no augmentation: PyTorch\n');
      torchTen = runTorch(data, 10, false);
    }
    const agreement = JSON.parse(await fs.readFile(path.join(work, 'ten-int8', 'run.json'), 'utf8').catch(() => fs.readFile(path.join(work, 'one-int8', 'run.json'), 'utf8'))) as {
      config: { int8?: { frozen?: { agreement?: { meanCosine: number; minCosine: number; images: number } } } };
    };
    const cosine = agreement.config.int8?.frozen?.agreement;
    const loadAfter = loadavg()[0]!;

    const row = (name: string, target: number, t: SideResult, p: SideResult) =>
      `| ${name} | ${seconds(sum(t.epochMs))} | ${seconds(sum(p.epochMs))} | **${(sum(p.epochMs) / sum(t.epochMs)).toFixed(1)}x** | ${target}x | ${seconds(t.wallMs)} / ${seconds(p.wallMs)} | **${(p.wallMs / t.wallMs).toFixed(1)}x** |`;
    // Where the int8 runs' wall time went: the traced phases, in order; the rest is the process's exit.
    const traced = [['1 epoch', tlkitOne.get('int8')], ['1 epoch, repeat', repeat.get('one')], ['10 epochs', tlkitTen.get('int8')], ['10 epochs, repeat', repeat.get('ten')]].filter((r): r is [string, SideResult] => r[1] !== undefined);
    const phaseNames = [...new Set(traced.flatMap(([, r]) => (r.phases ?? []).map((p) => p.phase)))];
    const phaseMs = (r: SideResult, phase: string) => (r.phases ?? []).filter((p) => p.phase === phase).reduce((s, p) => s + p.ms, 0);
    const breakdown = phaseNames.length === 0 ? [] : [
      '',
      `Where the wall time of \`tlkit train --precision int8\` went (TLKIT_TRACE=1, src/util/trace.ts; s):`,
      '',
      `| phase | ${traced.map(([name]) => name).join(' | ')} |`,
      `| --- | ${traced.map(() => '---:').join(' | ')} |`,
      ...phaseNames.map((phase) => `| ${phase} | ${traced.map(([, r]) => seconds(phaseMs(r, phase))).join(' | ')} |`),
      `| whole process (spawn to exit) | ${traced.map(([, r]) => seconds(r.wallMs)).join(' | ')} |`,
      `| of which not the logged epochs | ${traced.map(([, r]) => seconds(r.wallMs - sum(r.epochMs))).join(' | ')} |`,
    ];
    const torchVersion = execFileSync(TORCH_PYTHON, ['-c', 'import torch, torchvision; print(torch.__version__, torchvision.__version__)'], { encoding: 'utf8' }).trim();
    const lines = [
      '',
      `${SECTION}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      '',
      'Command: `npx tsc -p tsconfig.json && node dist/bench/tutorial.js`. 240 train + 60 val generated JPEGs (~500x375, 2 classes), ResNet50 with random ' +
        'weights, fixed-feature (fc only, backbone BN in inference mode on both sides), batch 18, Momentum(lr 0.001, 0.5), 224 px. tlkit: `tlkit train ' +
        '--mode fixed-feature` (the CLI, tutorial transforms); PyTorch: bench/tutorial_torch.py (torchvision transforms, DataLoader with 2 workers, ' +
        `2 threads, tuned malloc), ${TORCH_PYTHON} with torch/torchvision ${torchVersion}. Times are the sums of the logged epoch times (training + validation ` +
        `each epoch, as the tutorial logs them); wall = whole process (start-up, model build, tlkit's final evaluation and report). ${availableParallelism()} CPUs ` +
        `(${cpus()[0]?.model.trim() ?? 'unknown'}), load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after: a shared machine, so compare the ratios.`,
      '',
      '| workload | tlkit s | PyTorch s | speed-up | target | wall s (tlkit / PyTorch) | wall speed-up |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...precisions.map((p) => row(`1 epoch, augmented (random crop + flip each epoch), --precision ${p}`, 3, tlkitOne.get(p)!, torchOne)),
      row('1 epoch, augmented, --precision int8, repeat run (calibration and agreement read from the cache)', 3, repeat.get('one')!, torchOne),
      ...(torchTen ? precisions.map((p) => row(`10 epochs, no augmentation (tlkit caches the backbone features), --precision ${p}`, 20, tlkitTen.get(p)!, torchTen)) : []),
      ...(torchTen ? [row('10 epochs, no augmentation, --precision int8, repeat run (calibration and agreement read from the cache)', 20, repeat.get('ten')!, torchTen)] : []),
      '',
      ...precisions.map((p) => `Per-epoch ms, tlkit ${p}, 1 epoch: ${tlkitOne.get(p)!.epochMs.map((v) => v.toFixed(0)).join(', ')}` +
        (torchTen ? `; 10 epochs: ${tlkitTen.get(p)!.epochMs.map((v) => v.toFixed(0)).join(', ')}.` : '.')),
      `PyTorch per-epoch ms, 1 epoch: ${torchOne.epochMs.map((v) => v.toFixed(0)).join(', ')}` + (torchTen ? `; 10 epochs: ${torchTen.epochMs.map((v) => v.toFixed(0)).join(', ')}.` : '.'),
      `Training steps waiting for the loader's next batch (run.json history dataWaitMs, summed; the rest of each epoch is ORT and the head): ` +
        ([...[...tlkitOne].map(([p, r]) => [`1 epoch ${p}`, r]), ['1 epoch int8 repeat', repeat.get('one')], ...[...tlkitTen].map(([p, r]) => [`10 epochs ${p}`, r])] as Array<[string, SideResult | undefined]>)
          .filter((e): e is [string, SideResult] => e[1] !== undefined)
          .map(([name, r]) => `${name} ${seconds(r.dataWaitMs ?? 0)} of ${seconds(sum(r.epochMs))} s`).join('; ') + '.',
      cosine ? `int8 vs float32 pooled features (run.json): cosine ${cosine.meanCosine.toFixed(4)} mean, ${cosine.minCosine.toFixed(4)} min over ${cosine.images} val images (random weights; test/int8-agreement.test.ts measures a trained model).` : '',
      ...breakdown,
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (record) {
      const file = path.join(repo, 'bench', 'RESULTS.md');
      const existing = existsSync(file) ? await fs.readFile(file, 'utf8') : '# Benchmark results\n';
      const start = existing.indexOf(`\n${SECTION}`);
      const next = start < 0 ? -1 : existing.indexOf('\n## ', start + 1);
      const kept = start < 0 ? existing : existing.slice(0, start) + (next < 0 ? '' : existing.slice(next));
      await writeFileAtomic(file, Buffer.from(`${kept.replace(/\n+$/, '\n')}${lines.join('\n')}`));
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
