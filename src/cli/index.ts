import { Command } from 'commander';
import { commandModules } from './commands.js';

/** Every command lives in its own file and registers itself on the program. */
export interface CommandModule {
  register(program: Command): void;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('tlkit')
    .description('Transfer learning on images with ONNX Runtime, from TypeScript')
    .showHelpAfterError()
    .exitOverride((error) => {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
        process.exit(0);
      }
      process.exit(error.exitCode || 1);
    });
  const named = commandModules.filter(({ name }) => name === argv[2]);
  for (const { load } of named.length > 0 ? named : commandModules) (await load()).register(program);
  await program.parseAsync(argv);
}
