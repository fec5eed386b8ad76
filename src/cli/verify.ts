import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { verifyImages } from '../data/verify.js';
import { addDataFlags, intOption, type DataFlags } from './shared-options.js';

interface VerifyCommandOptions extends DataFlags {
  jobs?: number;
  progress?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('verify')
    .description('decode every image under a folder in full (as training would) and list the ones that fail, like fastai\'s verify_images')
    .argument('<data>', 'a folder of images at any depth: a dataset root (train/ and val/), one split or one class')
    .addOption(intOption('--jobs <n>', 'images decoded at once (default: twice the libuv threads)'))
    .option('--progress', 'show progress on stderr even when it is not a terminal (default: only on a terminal)')
    .option('--no-progress', 'no progress bar');
  addDataFlags(command, { strict: false })
    .addHelpText('after', '\nExit code 0 when every image decodes, 1 when any is bad (each printed with the reason).')
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
      if (result.bad.length > 0) process.exitCode = 1;
    });
}
