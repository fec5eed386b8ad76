/**
 * Where int8 calibrations are kept between runs (Node only: files under TLKIT_HOME/calibration).
 * The browser bundle replaces this module with one exporting `undefined`: there int8 calibrates
 * every time.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { tlkitHome } from '../io/cache.js';
import { writeFileAtomic } from '../util/atomic.js';

export interface CalibrationStore {
  /** The cache file for a calibration of the graph with this digest, method and sample; `folder` null: none. */
  file(folder: string | null | undefined, graphDigest: string, method: string, sampleKey: string): string | undefined;
  read(file: string): Promise<unknown>;
  write(file: string, record: unknown): Promise<void>;
}

export const calibrationStore: CalibrationStore | undefined = {
  file(folder, graphDigest, method, sampleKey) {
    const dir = folder === undefined ? path.join(tlkitHome(), 'calibration') : folder;
    if (dir === null) return undefined;
    const key = createHash('sha256').update(graphDigest).update(`\n${method}\n${sampleKey}`).digest('hex').slice(0, 24);
    return path.join(dir, `${key}.json`);
  },
  async read(file) {
    try {
      return JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
    } catch {
      return undefined;
    }
  },
  async write(file, record) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(record)));
  },
};
