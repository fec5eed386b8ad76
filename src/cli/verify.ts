import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { defaultConcurrency } from '../data/loader.js';
import { hashImages, nearDuplicatesAcross } from '../data/near-duplicates.js';
import { verifyImages } from '../data/verify.js';
import { addDataFlags, intOption, type DataFlags } from './shared-options.js';

interface VerifyCommandOptions extends DataFlags {
  jobs?: number;
  progress?: boolean;
  leakage: boolean;
}

const isFolder = (dir: string) => fs.stat(dir).then((s) => s.isDirectory(), () => false);

/** Images of train/ that are (nearly) the same picture as one in val/: each pair as `leak:` lines. */
async function reportLeakage(data: string, good: readonly string[], options: VerifyCommandOptions): Promise<void> {
  const [train, val] = [path.join(data, 'train'), path.join(data, 'val')];
  if (!(await isFolder(train)) || !(await isFolder(val))) return;
  const under = (dir: string) => good.filter((file) => file.startsWith(dir + path.sep));
  const hashing = { concurrency: options.jobs ?? defaultConcurrency(), pixelLimit: options.pixelLimit };
  const pairs = nearDuplicatesAcross(await hashImages(under(train), hashing), await hashImages(under(val), hashing));
  for (const pair of pairs) process.stdout.write(`leak: ${pair.first} ~ ${pair.second} (${pair.distance} of 256 hash positions differ)\n`);
  process.stdout.write(`${pairs.length} near-duplicate pair${pairs.length === 1 ? '' : 's'} shared by train/ and val/\n`);
}

export function register(program: Command): void {
  const command = program
    .command('verify')
    .description('decode every image under a folder in full (as training would) and list the ones that fail, like fastai\'s verify_images')
    .argument('<data>', 'a folder of images at any depth: a dataset root (train/ and val/), one split or one class')
    .addOption(intOption('--jobs <n>', 'images decoded at once (default: twice the libuv threads)'))
    .option('--progress', 'show progress on stderr even when it is not a terminal (default: only on a terminal)')
    .option('--no-progress', 'no progress bar')
    .option('--no-leakage', 'skip the search for near-duplicate images shared by train/ and val/ (done when DATA holds both)');
  addDataFlags(command, { strict: false })
    .addHelpText('after', '\nExit code 0 when every image decodes, 1 when any is bad (each printed with the reason). Near-duplicates (leak: lines) do not change it.')
    .action(async (data: string, options: VerifyCommandOptions) => {
      const bar = options.progress ?? process.stderr.isTTY
        ? new SingleBar({
          format: 'verify [{bar}] {value}/{total} images', stream: process.stderr, hideCursor: true, clearOnComplete: options.progress !== true,
          // Asked for explicitly: lines even when stderr is a pipe or a log file.
          noTTYOutput: options.progress === true, notTTYSchedule: 1000,
        })
        : null;
      let started = false;
      const result = await verifyImages(data, {
        pixelLimit: options.pixelLimit,
        concurrency: options.jobs,
        onProgress: (done, total) => {
          if (!started) bar?.start(total, 0);
          started = true;
          bar?.update(done);
        },
      }).finally(() => bar?.stop());
      for (const link of result.links) process.stdout.write(`not followed: ${link.path}: ${link.reason}\n`);
      for (const bad of result.bad) process.stdout.write(`bad: ${bad.path}: ${bad.reason}\n`);
      const others = result.others > 0 ? `; ${result.others} other file${result.others === 1 ? '' : 's'} (no image extension) not checked` : '';
      process.stdout.write(`${result.checked} images checked in ${data}: ${result.checked - result.bad.length} good, ${result.bad.length} bad${others}\n`);
      if (options.leakage) await reportLeakage(data, result.good, options);
      if (result.bad.length > 0) process.exitCode = 1;
    });
}
