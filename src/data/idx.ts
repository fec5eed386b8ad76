import { promises as fs } from 'node:fs';
import { parseIdx, type IdxArray } from './idx-format.js';

export * from './idx-format.js';

export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (error) {
    throw new Error(`cannot read IDX file ${path}: ${(error as Error).message}`);
  }
  return parseIdx(bytes, path);
}

