import CRC32 from 'crc-32';

type Crc32 = (data: Uint8Array, previous?: number) => number;

// Node's zlib.crc32 (Node 20.15+) runs ~7x faster than the JS tables (100 MB: 22 vs 150 ms);
// process.getBuiltinModule reaches it without an import, so the browser bundle has none to drop.
const nodeZlib = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process?.getBuiltinModule?.('node:zlib') as
  | { crc32?: Crc32 }
  | undefined;

/** Pure-JS CRC-32 (the IEEE polynomial zlib uses), continuing from `previous`; unsigned. */
export function crc32Js(data: Uint8Array, previous = 0): number {
  return CRC32.buf(data, previous) >>> 0;
}

/** CRC-32 as zlib computes it, continuing from `previous`. */
export const crc32: Crc32 = nodeZlib?.crc32 ?? crc32Js;
