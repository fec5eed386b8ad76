import * as path from 'node:path';
import type { Command } from 'commander';
import { addPipelineOptions, runPipelineCommand, type PipelineCommandOptions } from './pipeline.js';

export function register(program: Command): void {
  addPipelineOptions(program.command('demo').description('the embedded default: the whole four-step transfer flow on the shipped Fashion-MNIST data, with a report'), { out: 'tlkit-demo' })
    .action(async (options: PipelineCommandOptions) => {
      process.stderr.write('tlkit demo: transfer learning on Fashion-MNIST, source and target tasks with different classes\n');
      const result = await runPipelineCommand(options, { command: 'tlkit demo' });
      const out = path.resolve(options.out);
      process.stdout.write([
        '',
        result.text,
        '',
        `Outputs in ${out}:`,
        `  comparison table   ${path.resolve(result.table)}`,
        `  results (JSON)     ${path.resolve(result.json)}`,
        `  best checkpoints   ${path.join(out, 'checkpoints')} (source-best.ckpt, <method>/best.ckpt)`,
        ...(result.predictions ? [`  prediction grid    ${path.resolve(result.predictions)}`] : []),
        `  HTML report        ${path.resolve(result.report)}`,
        '',
      ].join('\n'));
    });
}
