import type { CommandModule } from './index.js';

/**
 * One line per command file. Only the named command's file is loaded (a command's imports are
 * most of tlkit: ORT, sharp), so `tlkit predict ...` does not pay for the others; `tlkit --help`
 * and unknown names load them all.
 */
export const commandModules: ReadonlyArray<{ name: string; load: () => Promise<CommandModule> }> = [
  { name: 'download', load: () => import('./download.js') },
  { name: 'inspect', load: () => import('./inspect.js') },
  { name: 'report', load: () => import('./report.js') },
  { name: 'preview', load: () => import('./preview.js') },
  { name: 'predict', load: () => import('./predict.js') },
  { name: 'pipeline', load: () => import('./pipeline.js') },
  { name: 'demo', load: () => import('./demo.js') },
  { name: 'train', load: () => import('./train.js') },
  { name: 'lr-find', load: () => import('./lr-find.js') },
  { name: 'eval', load: () => import('./eval.js') },
  { name: 'visualize', load: () => import('./visualize.js') },
  { name: 'features', load: () => import('./features.js') },
  { name: 'export', load: () => import('./export.js') },
  { name: 'verify', load: () => import('./verify.js') },
  { name: 'web', load: () => import('./web.js') },
];
