/** bench/RESULTS.md: each bench owns one "## " section, replaced whole, the others kept. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/util/atomic.js';

const resultsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'RESULTS.md');

/** Replaces the section whose heading starts with `heading` (up to the next "## "), or appends it. */
export async function replaceResultsSection(heading: string, text: string): Promise<string> {
  const current = await fs.readFile(resultsFile, 'utf8').catch(() => '# Benchmark results\n\n');
  const lines = current.split('\n');
  const start = lines.findIndex((l) => l.startsWith(heading));
  let next: string;
  if (start < 0) {
    next = `${current.replace(/\n*$/, '\n\n')}${text}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end < 0) end = lines.length;
    next = [...lines.slice(0, start), ...text.split('\n'), ...lines.slice(end)].join('\n').replace(/\n*$/, '\n');
  }
  await writeFileAtomic(resultsFile, new TextEncoder().encode(next));
  return resultsFile;
}
