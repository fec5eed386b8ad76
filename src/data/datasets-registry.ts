import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { download } from '../io/download.js';
import { extractZip } from '../io/zip.js';
import { NamedRegistry } from '../util/registry.js';

export interface DatasetEntry {
  name: string;
  url: string;
  /** Published SHA-256 of the archive, or null where none is published. */
  sha256: string | null;
  kind: 'zip';
  /** Folder the archive is extracted into, relative to the chosen parent (the tutorial's name). */
  folderName: string;
  /** Image folders inside the extracted folder, per split. */
  splits: Readonly<Record<string, string>>;
  classes: readonly string[];
  description: string;
}

export const DATASETS: readonly DatasetEntry[] = Object.freeze([
  {
    name: 'canidae',
    url: 'https://mindspore-website.obs.cn-north-4.myhuaweicloud.com/notebook/datasets/intermediate/Canidae_data.zip',
    sha256: null,
    kind: 'zip',
    folderName: 'datasets-Canidae',
    splits: { train: 'data/Canidae/train', val: 'data/Canidae/val' },
    classes: ['dogs', 'wolves'],
    description: "Dogs vs wolves images from MindSpore's ResNet50 transfer learning tutorial (ImageNet subset)",
  },
]);

const registry = new NamedRegistry(DATASETS, 'dataset');

export function datasetNames(): string[] {
  return registry.names();
}

export function findDataset(name: string): DatasetEntry | undefined {
  return registry.find(name);
}

export function getDataset(name: string): DatasetEntry {
  return registry.get(name);
}

export interface FetchDatasetOptions {
  /** Parent folder; the dataset lands in `<parentDir>/<folderName>`. Default: the current directory. */
  parentDir?: string;
  /** Archive URL to use instead of the registry's (a mirror). */
  url?: string;
  sha256?: string | null;
  progress?: boolean;
  retries?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
}

export interface FetchedDataset {
  entry: DatasetEntry;
  /** The extracted folder, e.g. ./datasets-Canidae. */
  dir: string;
  /** Absolute paths of the split folders, e.g. train -> .../datasets-Canidae/data/Canidae/train. */
  splits: Record<string, string>;
  archive: string;
  downloaded: boolean;
}

/**
 * Like the tutorial's `download(url, "./datasets-Canidae", kind="zip", replace=True)`: the archive is
 * fetched into the cache (kept, so a second run needs no network) and extracted afresh, replacing the folder.
 */
export async function fetchDataset(name: string, options: FetchDatasetOptions = {}): Promise<FetchedDataset> {
  const entry = getDataset(name);
  const archive = await download(options.url ?? entry.url, {
    sha256: options.sha256 ?? entry.sha256,
    progress: options.progress,
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
    signal: options.signal,
  });
  const dir = path.resolve(options.parentDir ?? '.', entry.folderName);
  await extractZip(archive.path, dir, { replace: true });
  const splits = Object.fromEntries(Object.entries(entry.splits).map(([split, relative]) => [split, path.join(dir, relative)]));
  for (const [split, folder] of Object.entries(splits)) {
    if (!(await isDirectory(folder))) {
      throw new Error(`${archive.path} extracted into ${dir} but holds no ${split} folder ${entry.splits[split]}; is it the ${name} archive?`);
    }
  }
  return { entry, dir, splits, archive: archive.path, downloaded: archive.downloaded };
}

async function isDirectory(folder: string): Promise<boolean> {
  try {
    return (await fs.stat(folder)).isDirectory();
  } catch {
    return false;
  }
}
