import type { Command } from 'commander';
import { startWebServer } from '../web/server.js';
import { countOption } from './shared-options.js';

export function register(program: Command): void {
  program
    .command('web')
    .description('serve a page on 127.0.0.1 that trains in the browser (onnxruntime-web): drop images into classes or use the shipped Fashion-MNIST target task')
    .addOption(countOption('--port <n>', 'port on 127.0.0.1 (0 picks a free one)', 8080))
    .option('--source <ckpt>', "backbone the page offers first: the demo's checkpoints/source-best.ckpt")
    .action(async (options: { port: number; source?: string }) => {
      const server = await startWebServer({ port: options.port, sourceCheckpoint: options.source });
      process.stdout.write(`tlkit web: ${server.url} (Ctrl-C stops)\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await server.close();
    });
}
