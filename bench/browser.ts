/**
 * tlkit in a web page (onnxruntime-web wasm in Debian's Chromium, 1 and 2 threads) against tlkit on
 * onnxruntime-node with the same thread count, in one run: a training step of the demo's ResNet-18
 * (tlkit pipeline's model: width 16, 1x28x28, batch 16, full fine-tuning) and an inference batch of
 * 64. Writes (replaces) the "## Browser: ..." section of bench/RESULTS.md.
 *
 *   npm run build && node dist/bench/browser.js [--iters 5] [--warmup 2] [--no-write]
 */
import * as os from 'node:os';
import { chromium } from 'playwright-core';
import * as node from '../src/index.js';
import { startWebServer } from '../src/web/server.js';
import { option } from './common.js';
import { replaceResultsSection } from './results-file.js';

const CHROMIUM = '/usr/bin/chromium';

interface Timings {
  stepMs: number[];
  inferMs: number[];
  loss: number;
}

/** Runs in Node and, as source text, in the page: the same measurement on whichever tlkit it is given. */
async function measure(t: typeof node, threads: number, warmup: number, iters: number): Promise<Timings> {
  const images = Float32Array.from({ length: 64 * 28 * 28 }, (_, i) => Math.sin(i * 0.013));
  const labels = Array.from({ length: 16 }, (_, i) => i % 5);
  const net = t.pipelineNet(t.PIPELINE_MODEL, 5, 1, 1);
  const step = await t.TrainStep.create(net, { inputShape: [1, 28, 28], optimizer: { kind: 'momentum', momentum: 0.9 }, bnTraining: true, session: { threads } });
  const stepMs: number[] = [];
  let loss = 0;
  for (let k = 0; k < warmup + iters; k++) {
    const started = performance.now();
    loss = (await step.step(images.subarray(0, 16 * 784), labels, 0.005)).loss;
    if (k >= warmup) stepMs.push(performance.now() - started);
  }
  step.syncToNetwork();
  await step.release();
  const runner = await t.InferenceRunner.create(net, [1, 28, 28], { threads });
  const inferMs: number[] = [];
  for (let k = 0; k < warmup + iters; k++) {
    const started = performance.now();
    await runner.run(images, 64);
    if (k >= warmup) inferMs.push(performance.now() - started);
  }
  await runner.release();
  return { stepMs, inferMs, loss };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}


async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const warmup = Number(option(args, '--warmup') ?? 2);
  const iters = Number(option(args, '--iters') ?? 5);
  const loadAtStart = os.loadavg()[0]!;
  const server = await startWebServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const rows: Array<{ threads: number; web: Timings; native: Timings }> = [];
  let chromiumVersion = '';
  try {
    chromiumVersion = browser.version();
    for (const threads of [1, 2]) {
      const native = await measure(node, threads, warmup, iters);
      // A fresh page per thread count: onnxruntime-web sizes its thread pool once per page.
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.waitForSelector('body[data-state=ready]', { timeout: 120_000 });
      const web = await page.evaluate(async ({ source, threads, warmup, iters }) => {
        const t = await import('/tlkit.mjs' as string);
        const run = new Function(`return (${source})`)() as typeof measure;
        return run(t, threads, warmup, iters);
      }, { source: measure.toString(), threads, warmup, iters });
      await page.close();
      rows.push({ threads, web, native });
      console.error(`${threads} thread(s): page step ${web.stepMs.map((m) => m.toFixed(0)).join(' ')} ms, infer ${web.inferMs.map((m) => m.toFixed(0)).join(' ')} ms; ` +
        `node step ${native.stepMs.map((m) => m.toFixed(0)).join(' ')} ms, infer ${native.inferMs.map((m) => m.toFixed(0)).join(' ')} ms`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const table = [
    '| threads | training step, page (ms) | training step, onnxruntime-node (ms) | node / page | inference b64, page (ms) | inference b64, onnxruntime-node (ms) | node / page |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(({ threads, web, native }) => {
      const [ws, ns, wi, ni] = [median(web.stepMs), median(native.stepMs), median(web.inferMs), median(native.inferMs)];
      return `| ${threads} | ${ws.toFixed(0)} | ${ns.toFixed(0)} | ${(ns / ws).toFixed(2)}x | ${wi.toFixed(0)} | ${ni.toFixed(0)} | ${(ni / wi).toFixed(2)}x |`;
    }),
  ].join('\n');
  console.log(table);
  const text = [
    '## Browser: tlkit in Chromium (onnxruntime-web wasm) vs tlkit on onnxruntime-node',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpu}, ${os.cpus().length} cores, Chromium ${chromiumVersion} (Debian, headless, page cross-origin isolated), Node ${process.version}, onnxruntime-web and -node 1.30.`,
    `Command: \`npm run bench:browser\`. The demo's ResNet-18 (width 16, 1x28x28, 5 classes): one full fine-tuning step at batch 16 (BN on batch statistics, SGD momentum), and inference on a batch of 64;`,
    `median of ${iters} after ${warmup} warm-up runs; ratio = onnxruntime-node time / page time (below 1: the page is slower). Node and the page run in turn, never at once.`,
    'TensorFlow.js is not compared: its wasm backend cannot fine-tune a CNN (Conv2DBackpropFilter is not registered for wasm; /work/shared/notes/engine-measurements.md), which is the point of this build.',
    '',
    table,
    '',
    `Load average (1 min) at start and end: ${loadAtStart.toFixed(1)} and ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores. Shared machines drift: compare ratios within a run.`,
    '',
  ].join('\n');
  if (!args.includes('--no-write')) console.log(`wrote ${await replaceResultsSection('## Browser: ', text)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : String(error));
  process.exit(1);
});
