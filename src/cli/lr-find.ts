import * as path from 'node:path';
import type { Command } from 'commander';
import { renderLrFindSvg } from '../report/lr-find-chart.js';
import { svgToPng } from '../report/rasterize.js';
import { findLearningRate, type LrFindResult } from '../train/lr-finder.js';
import { ensureFolder, writeFileAtomic } from '../util/atomic.js';
import { intOption, rateOption, requireFloat32 } from './shared-options.js';
import { addSetupOptions, openTraining, prepareMode, type SetupOptions } from './train.js';

interface LrFindCliOptions extends SetupOptions {
  out: string;
  startLr: number;
  endLr: number;
  iterations: number;
}

export const LR_FIND_PNG = 'lr-find.png';
export const LR_FIND_JSON = 'lr-find.json';

/** Sweeps the learning rate on what `tlkit train` with the same options would train, and writes the plot and the numbers. */
export async function lrFind(dataDir: string, options: LrFindCliOptions): Promise<LrFindResult & { png: string; json: string }> {
  requireFloat32(options.precision, 'lr-find');
  const setup = await openTraining(dataDir, options);
  const found = await findLearningRate(setup.net, {
    ...prepareMode(setup.net, options), train: setup.trainLoader, inputShape: setup.inputShape, optimizer: setup.optimizer,
    classWeights: options.classWeights, mix: setup.mix, startLr: options.startLr, endLr: options.endLr, iterations: options.iterations,
  });
  await ensureFolder(options.out);
  const png = path.join(options.out, LR_FIND_PNG);
  const json = path.join(options.out, LR_FIND_JSON);
  await writeFileAtomic(png, svgToPng(renderLrFindSvg(found.learningRates, found.losses, found.suggestion)));
  const numbers = { suggestion: found.suggestion, ended: found.ended, learningRates: found.learningRates, losses: found.losses, model: options.model, mode: options.mode, batchSize: options.batchSize };
  await writeFileAtomic(json, Buffer.from(`${JSON.stringify(numbers)}\n`));
  return { ...found, png, json };
}

export function register(program: Command): void {
  const command = program
    .command('lr-find')
    .description("fastai's learning-rate finder: train briefly with an exponentially growing rate, plot the loss, suggest a rate (then: tlkit train --lr <it>, or --lr auto)")
    .argument('<data-dir>', 'dataset folder with train/ and val/ image folders, as for tlkit train');
  addSetupOptions(command)
    .option('--out <dir>', `folder for ${LR_FIND_PNG} (loss against learning rate) and ${LR_FIND_JSON}`, '.')
    .addOption(rateOption('--start-lr <rate>', 'first rate of the sweep', 1e-7))
    .addOption(rateOption('--end-lr <rate>', 'last rate of the sweep', 10))
    .addOption(intOption('--iterations <n>', 'steps of the sweep (it stops earlier when the loss diverges)', 100))
    .action(async (dataDir: string, options: LrFindCliOptions) => {
      const result = await lrFind(dataDir, options);
      process.stdout.write(`Suggested learning rate: ${result.suggestion.toExponential(2)} (${result.learningRates.length} steps, ${result.ended === 'diverged' ? 'stopped when the loss diverged' : 'all steps run'})\nPlot: ${result.png}\n`);
    });
}
