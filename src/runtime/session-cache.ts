/**
 * Inference sessions cached across processes (Node only): the model as ORT optimized it (BN folded,
 * blocked layouts, weights pre-arranged) is written under TLKIT_HOME/sessions and read back by the
 * next process with optimization off. Measured on `tlkit predict` of one image with ResNet-50
 * (2-core EPYC, loaded): serializing the graph 0.3 s + ORT's optimization 1.1 s, against 0.33 s to
 * read the optimized file back.
 *
 * Entries are keyed by everything that decides their content: the graph's structure (nodes,
 * shapes, initializer names), the identity of the weights file every value came from (path, size,
 * modification time), tlkit's and ORT's versions and the CPU (ORT's optimized models are hardware
 * specific). Entries are written to a temporary name and renamed; one that ORT cannot read is
 * deleted and rebuilt. A cache that cannot be written is skipped, never fatal.
 */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Graph } from '../graph/graph.js';
import { serializeGraph } from '../graph/onnx.js';
import { tlkitHome } from '../io/cache.js';
import type { Module } from '../nn/module.js';
import type { Stages } from './compile.js';
import { InferenceRunner, inferenceGraphOf } from './inference.js';
import { Session, type SessionOptions } from './session.js';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function tlkitVersion(): string {
  try {
    const file = new URL('../../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function cpuIdentity(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (key: string) => info.split('\n').find((l) => l.startsWith(key))?.split(':')[1]?.trim() ?? '';
    return `${field('model name')}|${field('flags')}`;
  } catch {
    return 'unknown';
  }
}

/** The graph without its weight values: what the structure part of the key hashes. */
function structureOf(graph: Graph): string {
  return JSON.stringify({
    nodes: graph.nodes,
    inputs: graph.inputs,
    outputs: graph.outputs.map((o) => [o.name, o.value.name, o.value.shape, o.dynamicBatch ?? false]),
    initializers: graph.initializers.map((i) => [i.name, i.type, i.shape]),
  }, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/** Cache key of a graph whose every weight was read from `weightsFile`. */
export async function sessionCacheKey(graph: Graph, weightsFile: string): Promise<string> {
  const resolved = path.resolve(weightsFile);
  const stat = await fs.stat(resolved);
  const hash = createHash('sha256');
  for (const part of [structureOf(graph), resolved, String(stat.size), String(stat.mtimeMs), tlkitVersion(), packageVersion('onnxruntime-node'), cpuIdentity()]) {
    hash.update(part).update('\0');
  }
  return hash.digest('hex').slice(0, 32);
}

export function sessionCacheFolder(home: string = tlkitHome()): string {
  return path.join(home, 'sessions');
}

/**
 * A session for `graph`, read from the cache when an entry for it exists, else built (and the
 * optimized model stored for the next process). `weightsFile` must be where all of the graph's
 * weight values came from: a network with a freshly initialized head is not cacheable this way.
 */
export async function cachedSession(graph: Graph, weightsFile: string, options: SessionOptions = {}): Promise<Session> {
  const folder = sessionCacheFolder();
  const entry = path.join(folder, `${await sessionCacheKey(graph, weightsFile)}.onnx`);
  if (await fs.stat(entry).then(() => true, () => false)) {
    try {
      return await Session.create(entry, { ...options, optimized: true });
    } catch {
      await fs.rm(entry, { force: true });  // unreadable (torn, or from another ORT build): rebuilt below
    }
  }
  const temporary = `${entry}.${process.pid}.${Date.now()}.tmp`;
  const writable = await fs.mkdir(folder, { recursive: true }).then(() => true, () => false);
  const session = await Session.create(serializeGraph(graph, 'inference'), writable ? { ...options, optimizedModelPath: temporary, quiet: true } : options);
  if (writable) await fs.rename(temporary, entry).catch(() => fs.rm(temporary, { force: true }));
  return session;
}

/** `InferenceRunner.create` through the session cache, for a network whose weights all came from `weightsFile`. */
export async function createCachedInferenceRunner(net: Module | Stages, inputShape: readonly number[], weightsFile: string, options: SessionOptions & { until?: string } = {}): Promise<InferenceRunner> {
  const graph = inferenceGraphOf(net, inputShape, options.until);
  return InferenceRunner.fromSession(await cachedSession(graph, weightsFile, options), inputShape);
}
