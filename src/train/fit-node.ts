import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import { readTrainingCheckpoint, saveNetCheckpoint } from './checkpoint.js';
import type { FitHost } from './fit.js';
import { removeStaleTemporaries } from './stale-temporaries.js';

/** fit's checkpoint folder, progress bar and log in Node: files, a bar on stderr, lines on stdout. */
export const nodeFitHost: FitHost | undefined = {
  join: path.join,
  basename: path.basename,
  removeStaleTemporaries,
  saveNetCheckpoint,
  readTrainingCheckpoint,
  progressBar: (format) => new SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: true }),
  log: (line) => process.stdout.write(`${line}\n`),
};
