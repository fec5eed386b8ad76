import type { Command } from 'commander';
import { DATASETS, fetchDataset, findDataset } from '../data/datasets-registry.js';
import { PRETRAINED, findPretrained, resolvePretrained } from '../models/pretrained.js';

interface DownloadCommandOptions {
  dir?: string;
  url?: string;
  sha256?: string;
  retries?: string;
  progress?: boolean;
  list?: boolean;
}

export function register(program: Command): void {
  program
    .command('download')
    .description('download a dataset (extracted, like the tutorial) or pretrained weights (into the cache, or --dir)')
    .argument('[name]', 'a dataset (canidae) or pretrained weights (resnet50-mindspore, resnet50-torchvision, ...); see --list')
    .option('--dir <folder>', 'datasets: parent folder of the extracted folder (default: .); weights: folder for the file (default: the cache)')
    .option('--url <url>', 'download from this URL instead (a mirror)')
    .option('--sha256 <hex>', 'expected SHA-256 of the downloaded file')
    .option('--retries <n>', 'retries after failures that made no progress', '5')
    .option('--progress', 'show progress on stderr even when it is not a terminal (default: only on a terminal)')
    .option('--no-progress', 'no progress bar')
    .option('--list', 'list the known datasets and weights')
    .addHelpText(
      'after',
      '\nThe cache is $TLKIT_HOME (default ~/.cache/tlkit). TLKIT_MIRROR=<url> fetches every registry URL from that host instead.',
    )
    .action(async (name: string | undefined, options: DownloadCommandOptions) => {
      if (options.list) {
        process.stdout.write(listing());
        return;
      }
      if (name === undefined) throw new Error('download: name a dataset or pretrained weights (tlkit download --list shows them)');
      const retries = Number(options.retries);
      if (!Number.isInteger(retries) || retries < 0) throw new Error(`download: --retries must be a whole number, got ${options.retries}`);
      const common = {
        url: options.url,
        sha256: options.sha256,
        retries,
        progress: options.progress,
      };
      if (findDataset(name) !== undefined) {
        const fetched = await fetchDataset(name, { ...common, parentDir: options.dir });
        process.stdout.write(`${fetched.dir}\n`);
        return;
      }
      if (findPretrained(name) !== undefined) {
        const resolved = await resolvePretrained(name, { ...common, dir: options.dir });
        process.stdout.write(`${resolved.path}\n`);
        return;
      }
      const known = [...DATASETS.map((entry) => entry.name), ...PRETRAINED.map((entry) => entry.name)];
      throw new Error(`download: unknown name ${JSON.stringify(name)}; known: ${known.join(', ')}`);
    });
}

function listing(): string {
  const lines = ['datasets:'];
  for (const entry of DATASETS) lines.push(`  ${entry.name.padEnd(22)} ${entry.description} -> ./${entry.folderName}`);
  lines.push('pretrained weights:');
  for (const entry of PRETRAINED) lines.push(`  ${entry.name.padEnd(22)} ${entry.format.padEnd(11)} ${entry.description}`);
  return `${lines.join('\n')}\n`;
}
