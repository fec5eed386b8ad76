import type { Command } from 'commander';
import { writeReport } from '../report/write-report.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report (curves, confusion matrix, per-class metrics, image grids) for a run directory')
    .argument('<run-dir>', 'directory holding run.json (written by tlkit train)')
    .option('--out <file>', 'where to write the HTML (default: <run-dir>/report.html)')
    .action(async (runDir: string, options: { out?: string }) => {
      const written = await writeReport(runDir, options.out);
      process.stdout.write(`${written}\n`);
    });
}
