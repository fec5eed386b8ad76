import type { CommandModule } from './index.js';

/** One line per command file; loaded lazily so `tlkit --help` stays fast. */
export const commandModules: Array<() => Promise<CommandModule>> = [
  () => import('./download.js'),
  () => import('./inspect.js'),
  () => import('./report.js'),
  () => import('./preview.js'),
  () => import('./predict.js'),
  () => import('./pipeline.js'),
  () => import('./demo.js'),
  () => import('./train.js'),
  () => import('./eval.js'),
  () => import('./visualize.js'),
  () => import('./features.js'),
  () => import('./export.js'),
  () => import('./verify.js'),
];
