import { Checkpoints } from './callbacks/checkpoints.js';
import { ProgressBar } from './callbacks/progress-bar.js';
import type { FitHost } from './fit.js';

/** fit's checkpoint folder, progress bar and log in Node: files, a bar on stderr, lines on stdout. */
export const nodeFitHost: FitHost | undefined = {
  checkpoints: (directory, options) => new Checkpoints(directory, options),
  progressBar: () => new ProgressBar(),
  log: (line) => process.stdout.write(`${line}\n`),
};
