import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { HostTensor } from '../tensor.js';
import { writeFileAtomic } from '../util/atomic.js';
import { encodeSafetensors, parseSafetensors, parseShardIndex, type SafetensorsContents } from './safetensors-format.js';

export * from './safetensors-format.js';

export async function readSafetensors(file: string): Promise<SafetensorsContents> {
  return parseSafetensors(await fs.readFile(file), file);
}

/** Loads every shard an index (model.safetensors.index.json) names, checking each holds what the index says. */
export async function readShardedSafetensors(indexFile: string): Promise<SafetensorsContents> {
  const index = parseShardIndex(await fs.readFile(indexFile, 'utf8'), indexFile);
  const shards = [...new Set(index.weightMap.values())];
  const tensors = new Map<string, HostTensor>();
  const metadata: Record<string, string> = {};
  for (const shard of shards) {
    const shardPath = path.join(path.dirname(indexFile), shard);
    const contents = await readSafetensors(shardPath).catch((error: unknown) => {
      throw new Error(`${indexFile}: shard ${shard}: ${error instanceof Error ? error.message : String(error)}`);
    });
    Object.assign(metadata, contents.metadata);
    for (const [name, tensor] of contents.tensors) {
      const listedShard = index.weightMap.get(name);
      if (listedShard !== shard) {
        throw new Error(`${indexFile}: shard ${shard} holds '${name}', which the index ${listedShard ? `puts in ${listedShard}` : 'does not list'}`);
      }
      tensors.set(name, tensor);
    }
  }
  const missing = [...index.weightMap.keys()].filter((name) => !tensors.has(name));
  if (missing.length > 0) throw new Error(`${indexFile}: tensors listed in the index but absent from their shards: ${missing.join(', ')}`);
  // Keep the index's order, which is what a reader of the index expects.
  return { tensors: new Map([...index.weightMap.keys()].map((name) => [name, tensors.get(name)!])), metadata };
}

export async function writeSafetensors(
  file: string,
  tensors: Map<string, HostTensor> | Iterable<[string, HostTensor]>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}
