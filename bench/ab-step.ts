/**
 * A/B of engine formulations (src/graph/ops/tuning.ts) on one training scenario: each variant
 * runs in its own process (bench/profile-step.js with --tuning), the variants in turn for
 * several rounds, so a noisy shared machine slows them alike. One process per variant because
 * sessions sharing a process measured wrong: three ORT sessions (each with its own spinning
 * intra-op pool) made the demo model's step 294-306 ms for every variant, where the variants
 * alone took 191 and 159 ms.
 *
 *   node dist/bench/ab-step.js small '{"columnOrder":"nhw"}' '{}' [--iters 6] [--rounds 3]
 *
 * The cause was ORT's spin-waiting: an idle session's threads keep spinning after its run and
 * take the cores from the next session's (four GEMM sessions in one process: 60 GFLOP/s each
 * spinning, 160 without). With --interleaved, every variant is built in this process with
 * spinning off and the variants take single steps in turn, so the machine's drift (the same step
 * 160-240 ms for minutes) hits every variant alike; the per-round ratios to the first variant are
 * the number to read.
 *
 *   node dist/bench/ab-step.js r50 '{}' '{"reluBackward":"where"}' --interleaved [--iters 12]
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuDescription, median, option } from './common.js';
import { CASES, caseStep } from './step-cases.js';
import { engineTuning } from '../src/graph/ops/tuning.js';

const profileStep = path.join(path.dirname(fileURLToPath(import.meta.url)), 'profile-step.js');

async function interleaved(name: string, variants: string[], iters: number): Promise<void> {
  const defaults = { ...engineTuning };
  const built = [];
  for (const variant of variants) {
    Object.assign(engineTuning, defaults, JSON.parse(variant));
    const one = await caseStep(CASES[name]!, { threads: 2, spinning: false });
    // TrainStep builds its graph for a batch size at the first step: take it while the variant's switches are set.
    await one.step.step(one.images, one.labels, 1e-3);
    built.push(one);
  }
  Object.assign(engineTuning, defaults);
  const times: number[][] = variants.map(() => []);
  for (let i = 0; i < iters + 2; i++) {
    for (const [k, { step, images, labels }] of built.entries()) {
      const start = performance.now();
      await step.step(images, labels, 1e-3);
      if (i >= 2) times[k]!.push(performance.now() - start);
    }
  }
  for (const [k, variant] of variants.entries()) {
    const ratios = times[k]!.map((t, i) => t / times[0]![i]!);
    console.log(`${variant.padEnd(50)} median ${median(times[k]!).toFixed(1).padStart(8)} ms, per-round ratio to the first: median ${median(ratios).toFixed(3)}`);
  }
  for (const { step } of built) await step.release();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const iters = option(args, '--iters') ?? '6';
  const rounds = Number(option(args, '--rounds') ?? 3);
  const positional = args.filter((a, i) => !a.startsWith('--') && !['--iters', '--rounds'].includes(args[i - 1] ?? ''));
  const [name, ...variants] = positional;
  if (!name || !CASES[name] || variants.length === 0) throw new Error(`usage: ab-step.js <${Object.keys(CASES).join('|')}> <tuning JSON>... [--iters N] [--rounds R] [--interleaved]`);
  const load = os.loadavg()[0]!;
  if (args.includes('--interleaved')) {
    await interleaved(name, variants, Number(iters));
    console.log(`${name}; ${cpuDescription()}; load average ${load.toFixed(1)} -> ${os.loadavg()[0]!.toFixed(1)}`);
    return;
  }
  const medians: number[][] = variants.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [k, variant] of variants.entries()) {
      const out = execFileSync(process.execPath, [profileStep, name, '--iters', iters, '--tuning', variant], { encoding: 'utf8' });
      const ms = Number(/median ([\d.]+) ms/.exec(out)?.[1]);
      if (!Number.isFinite(ms)) throw new Error(`profile-step printed no median for ${variant}:\n${out}`);
      medians[k]!.push(ms);
    }
  }
  for (const [k, variant] of variants.entries()) {
    console.log(`${variant.padEnd(50)} median of ${rounds} runs ${median(medians[k]!).toFixed(1).padStart(8)} ms  (${medians[k]!.map((m) => m.toFixed(0)).join(', ')})`);
  }
  console.log(`${name}; ${cpuDescription()}; load average ${load.toFixed(1)} -> ${os.loadavg()[0]!.toFixed(1)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
