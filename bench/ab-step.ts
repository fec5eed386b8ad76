/**
 * A/B of engine formulations (src/graph/ops/tuning.ts) on one training scenario: each variant
 * runs in its own process (bench/profile-step.js with --tuning), the variants in turn for
 * several rounds, so a noisy shared machine slows them alike. One process per variant because
 * sessions sharing a process measured wrong: three ORT sessions (each with its own spinning
 * intra-op pool) made the demo model's step 294-306 ms for every variant, where the variants
 * alone took 191 and 159 ms.
 *
 *   node dist/bench/ab-step.js small '{"columnOrder":"nhw"}' '{}' [--iters 6] [--rounds 3]
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuDescription, median, option } from './common.js';
import { CASES } from './step-cases.js';

const profileStep = path.join(path.dirname(fileURLToPath(import.meta.url)), 'profile-step.js');

function main(): void {
  const args = process.argv.slice(2);
  const iters = option(args, '--iters') ?? '6';
  const rounds = Number(option(args, '--rounds') ?? 3);
  const positional = args.filter((a, i) => !a.startsWith('--') && !['--iters', '--rounds'].includes(args[i - 1] ?? ''));
  const [name, ...variants] = positional;
  if (!name || !CASES[name] || variants.length === 0) throw new Error(`usage: ab-step.js <${Object.keys(CASES).join('|')}> <tuning JSON>... [--iters N] [--rounds R]`);
  const load = os.loadavg()[0]!;
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

main();
