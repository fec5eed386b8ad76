import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BUNDLE = path.join(ROOT, 'dist', 'browser', 'tlkit.mjs');

export type Tlkit = typeof import('../../src/browser/index.js');

/** Builds dist/browser/ from the freshly compiled dist/src (what `npm run build` does). */
export function buildBrowserBundle(): string {
  execFileSync(process.execPath, [path.join(ROOT, 'tools', 'build-browser.mjs')], { cwd: ROOT, stdio: 'pipe' });
  return BUNDLE;
}

/** The bundle, built first if this checkout has none. */
export async function importBundle(): Promise<Tlkit> {
  if (!existsSync(BUNDLE)) buildBrowserBundle();
  return (await import(pathToFileURL(BUNDLE).href)) as Tlkit;
}
