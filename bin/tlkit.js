#!/usr/bin/env node
import { main } from '../dist/src/cli/index.js';

main(process.argv).catch((error) => {
  process.stderr.write(`tlkit: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
