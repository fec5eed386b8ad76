/**
 * Start-up bench: `tlkit predict` of ONE 500x375 JPEG with ResNet-50 weights from a safetensors
 * file (torchvision names), whole process, against the same job in PyTorch (bench/startup_torch.py:
 * import torch, build resnet50, load the state dict, the eval transforms, one forward pass).
 * The two commands alternate; medians. tlkit's first run (which fills the session cache under
 * TLKIT_HOME) is reported apart from the warm runs a user sees from the second call on.
 *
 *   node dist/bench/startup.js [--runs 5] [--no-write]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { cpuDescription, median } from './common.js';
import { replaceResultsSection } from './results-file.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const TORCH_PYTHON = '/usr/bin/python3';


function timed(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = performance.now();
  const result = spawnSync(command, args, { cwd: repoRoot, env, encoding: 'utf8' });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  return ms;
}


async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
  const out = path.join(repoRoot, 'bench', 'out');
  mkdirSync(out, { recursive: true });
  const pth = path.join(out, 'r50.pth');
  const safetensors = path.join(out, 'r50.safetensors');
  const photo = path.join(out, 'startup-photo.jpg');
  if (!existsSync(pth) || !existsSync(safetensors)) execFileSync(TORCH_PYTHON, [path.join(repoRoot, 'bench', 'startup_torch.py'), '--write-weights', pth, safetensors], { stdio: 'inherit' });
  if (!existsSync(photo)) {
    const pixels = Buffer.alloc(500 * 375 * 3).map((_, i) => (i * 2654435761) % 251);
    await sharp(pixels, { raw: { width: 500, height: 375, channels: 3 } }).jpeg({ quality: 90 }).toFile(photo);
  }
  const home = mkdtempSync(path.join(os.tmpdir(), 'tlkit-startup-'));
  const tlkitEnv = { ...process.env, TLKIT_HOME: home, TLKIT_THREADS: '2' };
  const tlkitArgs = [path.join(repoRoot, 'bin', 'tlkit.js'), 'predict', photo, '--model', 'resnet50', '--weights', safetensors, '--json'];
  const torchArgs = [path.join(repoRoot, 'bench', 'startup_torch.py'), pth, photo];
  const loadAtStart = os.loadavg()[0]!;
  try {
    const cold = timed(process.execPath, tlkitArgs, tlkitEnv);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push(timed(process.execPath, tlkitArgs, tlkitEnv));
      theirs.push(timed(TORCH_PYTHON, torchArgs, process.env));
    }
    const ratio = median(theirs) / median(ours);
    const table = [
      '| | whole process, median of runs (s) | runs (s) |',
      '|---|---:|---|',
      `| tlkit predict, session cache warm | ${(median(ours) / 1000).toFixed(2)} | ${ours.map((m) => (m / 1000).toFixed(2)).join(' ')} |`,
      `| tlkit predict, first call (fills the cache) | ${(cold / 1000).toFixed(2)} | |`,
      `| PyTorch (import, resnet50(), load_state_dict, transforms, forward) | ${(median(theirs) / 1000).toFixed(2)} | ${theirs.map((m) => (m / 1000).toFixed(2)).join(' ')} |`,
    ].join('\n');
    console.log(table);
    console.log(`ratio (PyTorch / tlkit, warm): ${ratio.toFixed(2)}x (target 2x)`);
    const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const text = [
      '## Start-up: one image through ResNet-50, whole process',
      '',
      `Measured ${date} UTC on ${cpuDescription()}, Node ${process.version}. Command: \`node dist/bench/startup.js\` (the two commands alternate, ${runs} runs each).`,
      'tlkit: `tlkit predict photo.jpg --model resnet50 --weights r50.safetensors --json` (torchvision names); PyTorch: bench/startup_torch.py with the same weights as a .pth state dict.',
      '',
      table,
      '',
      `Ratio PyTorch / tlkit (warm): **${ratio.toFixed(2)}x** (target 2x: ${ratio >= 2 ? 'met' : 'not met'}). Load average (1 min) at start and end: ${loadAtStart.toFixed(1)} and ${os.loadavg()[0]!.toFixed(1)}.`,
      '',
    ].join('\n');
    if (!args.includes('--no-write')) console.log(`wrote ${await replaceResultsSection('## Start-up:', text)}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
