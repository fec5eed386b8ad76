/**
 * One training scenario of the engine bench, alone and in detail: step times, and with --profile
 * ORT's per-node profile summed by op type (where a step's time goes). For choosing formulations.
 *
 *   node dist/bench/profile-step.js small|r18|r50|r50-bn-frozen [--iters 5] [--warmup 2] [--profile] [--tuning '{"columnOrder":"nhw"}'] [--top 30] [--threads 2] [--session '{"parallel":{"interOpThreads":2}}'] [--keep] [--depthwise-dw swapped-conv] [--tuning '{"depthwise":{"layout":"nchw"}}']
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { option } from './common.js';
import { CASES, caseStep } from './step-cases.js';
import type { SessionOptions } from '../src/runtime/session.js';
import { engineTuning } from '../src/graph/ops/tuning.js';
import { depthwiseFormulation, type DepthwiseWeightGrad } from '../src/graph/ops/grouped-conv.js';


interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  ts: number;
  args?: { op_name?: string; output_type_shape?: Array<Record<string, number[]>> };
}

/**
 * Only the timed steps count: the first run of a session is several times slower (ORT's arena
 * grows, 4.3 vs 1.9 s of kernel time in a ResNet-50 step), and summing it in inflated every op.
 */
function summarize(file: string, warmup: number, steps: number, top: number): void {
  const all = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  const runs = all.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const timedFrom = warmup > 0 && runs.length > warmup ? runs[warmup]!.ts : 0;
  const events = all.filter((e) => e.ts >= timedFrom);
  const byOp = new Map<string, { us: number; nodes: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    const entry = byOp.get(op) ?? { us: 0, nodes: 0 };
    entry.us += e.dur;
    entry.nodes += 1;
    byOp.set(op, entry);
  }
  const rows = [...byOp].sort((a, b) => b[1].us - a[1].us);
  const total = rows.reduce((s, [, v]) => s + v.us, 0);
  console.log(`ORT kernel time per step: ${(total / steps / 1000).toFixed(1)} ms over ${(rows.reduce((s, [, v]) => s + v.nodes, 0) / steps).toFixed(0)} nodes`);
  for (const [op, v] of rows.slice(0, 20)) console.log(`  ${op.padEnd(24)} ${(v.us / steps / 1000).toFixed(1).padStart(8)} ms  ${String(v.nodes / steps).padStart(5)} nodes`);
  if (top === 0) return;
  const byNode = new Map<string, { us: number; op: string; shape: string }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const entry = byNode.get(e.name) ?? { us: 0, op: e.args?.op_name ?? '?', shape: JSON.stringify(e.args?.output_type_shape?.map((o) => Object.values(o)[0])) };
    entry.us += e.dur;
    byNode.set(e.name, entry);
  }
  console.log(`slowest ${top} nodes (ms per step, output shapes):`);
  for (const [name, v] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, top)) console.log(`  ${(v.us / steps / 1000).toFixed(2).padStart(7)} ${v.op.padEnd(14)} ${v.shape} ${name.replace(/_kernel_time$/, '')}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const name = args[0] ?? 'small';
  const c = CASES[name];
  if (!c) throw new Error(`unknown case ${name}; known: ${Object.keys(CASES).join(', ')}`);
  const iters = Number(option(args, '--iters') ?? 5);
  const warmup = Number(option(args, '--warmup') ?? 2);
  const profile = args.includes('--profile');
  const top = Number(option(args, '--top') ?? 0);
  // A "depthwise" key switches grouped-conv.ts's formulations (ab-step passes one JSON per variant).
  const { depthwise, ...tuning } = JSON.parse(option(args, '--tuning') ?? '{}') as Record<string, unknown> & { depthwise?: Partial<typeof depthwiseFormulation> };
  Object.assign(engineTuning, tuning);
  depthwiseFormulation.weightGrad = (option(args, '--depthwise-dw') ?? 'auto') as DepthwiseWeightGrad | 'auto';
  Object.assign(depthwiseFormulation, depthwise ?? {});
  const prefix = path.join(os.tmpdir(), `tlkit-profile-${process.pid}`);
  const t0 = performance.now();
  const { step, images, labels } = await caseStep(c, { threads: Number(option(args, '--threads') ?? 2), profilePrefix: profile ? prefix : undefined, ...(JSON.parse(option(args, '--session') ?? '{}') as SessionOptions) });
  const times: number[] = [];
  let loss = 0;
  for (let i = 0; i < warmup + iters; i++) {
    const s = performance.now();
    loss = (await step.step(images, labels, 0.01)).loss;
    if (i === 0) console.log(`first step (session build included) ${(performance.now() - t0).toFixed(0)} ms`);
    if (i >= warmup) times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  console.log(`${name}: median ${times[times.length >> 1]!.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms (loss ${loss.toFixed(4)}, load ${os.loadavg()[0]!.toFixed(1)})`);
  await step.release();
  if (profile) {
    const dir = path.dirname(prefix);
    for (const f of readdirSync(dir).filter((f) => f.startsWith(path.basename(prefix)))) {
      summarize(path.join(dir, f), warmup, iters, top);
      if (args.includes('--keep')) console.log(`profile kept: ${path.join(dir, f)}`);
      else rmSync(path.join(dir, f));
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
