/**
 * A/B of engine formulations (src/graph/ops/tuning.ts) on one training scenario, in one process:
 * the same seeded network is compiled once per variant and the variants take single steps in
 * turn, so a noisy shared machine slows them alike. A variant may also set session options
 * (`{"session": {"memPattern": false}}`). Losses are printed to show the variants
 * compute the same thing.
 *
 *   node dist/bench/ab-step.js small '{"foldFrozenBatchNorm":false}' '{}' [--iters 8] [--bn-frozen]
 */
import * as os from 'node:os';
import { engineTuning } from '../src/graph/ops/tuning.js';
import { seedInitializers } from '../src/nn/init.js';
import type { SessionOptions } from '../src/runtime/session.js';
import { TrainStep } from '../src/runtime/train-step.js';
import { CASES } from './step-cases.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const iters = Number(args[args.indexOf('--iters') + 1] ?? 8) || 8;
  const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--iters');
  const [name, ...variants] = positional;
  const c = CASES[name ?? ''];
  if (!c || variants.length === 0) throw new Error(`usage: ab-step.js <${Object.keys(CASES).join('|')}> <tuning JSON>... [--iters N] [--bn-frozen]`);
  const bnTraining = c.bnTraining && !args.includes('--bn-frozen');
  const defaults = { ...engineTuning };
  const steps: TrainStep[] = [];
  for (const variant of variants) {
    const { session, ...tuning } = JSON.parse(variant) as Partial<typeof engineTuning> & { session?: SessionOptions };
    Object.assign(engineTuning, defaults, tuning);
    seedInitializers(0);
    const net = c.net();
    if (!bnTraining) net.eval();
    steps.push(await TrainStep.create(net, { inputShape: c.image, optimizer: { kind: 'momentum', momentum: 0.9, weightDecay: 1e-4 }, bnTraining, session: { threads: 2, ...session } }));
  }
  Object.assign(engineTuning, defaults);
  const images = new Float32Array(c.batch * c.image.reduce((a, b) => a * b, 1)).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const labels = Array.from({ length: c.batch }, (_, i) => i % 2);
  const times: number[][] = variants.map(() => []);
  const losses: string[][] = variants.map(() => []);
  const load = os.loadavg()[0]!;
  for (let i = 0; i < iters + 2; i++) {
    for (const [k, step] of steps.entries()) {
      const start = performance.now();
      const { loss } = await step.step(images, labels, 1e-3);
      if (i >= 2) times[k]!.push(performance.now() - start);
      losses[k]!.push(loss.toFixed(5));
    }
  }
  for (const [k, variant] of variants.entries()) {
    const sorted = [...times[k]!].sort((a, b) => a - b);
    console.log(`${variant.padEnd(50)} median ${sorted[sorted.length >> 1]!.toFixed(1).padStart(8)} ms  min ${sorted[0]!.toFixed(1).padStart(8)} ms  losses ${losses[k]!.slice(0, 3).join(' ')}`);
  }
  console.log(`${name}${bnTraining ? '' : ' (BN frozen)'}; load average ${load.toFixed(1)} -> ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`);
  for (const step of steps) await step.release();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
