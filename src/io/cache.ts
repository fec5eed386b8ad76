import * as os from 'node:os';
import * as path from 'node:path';

/** Where tlkit keeps downloads: $TLKIT_HOME, or ~/.cache/tlkit. Read at call time so tests can point it elsewhere. */
export function tlkitHome(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.TLKIT_HOME;
  if (configured !== undefined && configured.trim() !== '') return path.resolve(configured);
  return path.join(os.homedir(), '.cache', 'tlkit');
}

function safeSegment(segment: string): string {
  const cleaned = decodeURIComponentSafe(segment).replace(/[^A-Za-z0-9._-]/g, '_');
  // '.' and '..' would walk out of the cache folder once joined.
  return cleaned === '' || /^\.+$/.test(cleaned) ? '_' : cleaned;
}

function decodeURIComponentSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The cache file for a URL mirrors the URL's host and path (like `wget -x`), so two files that share a
 * basename (every Hugging Face `model.safetensors`) never collide and the layout is readable by eye.
 */
export function cachePathForUrl(url: string, home: string = tlkitHome()): string {
  const parsed = new URL(url);
  const host = safeSegment(parsed.port === '' ? parsed.hostname : `${parsed.hostname}_${parsed.port}`);
  const segments = parsed.pathname.split('/').filter((segment) => segment !== '').map(safeSegment);
  if (segments.length === 0) segments.push('index');
  return path.join(home, 'downloads', host, ...segments);
}

/**
 * With TLKIT_MIRROR set (e.g. `http://127.0.0.1:8080` or `https://mirror.example/prefix`), a URL keeps its path
 * and query but is fetched from the mirror's scheme, host and path prefix instead of its own host.
 */
export function applyMirror(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const mirror = env.TLKIT_MIRROR;
  if (mirror === undefined || mirror.trim() === '') return url;
  let mirrorUrl: URL;
  try {
    mirrorUrl = new URL(mirror);
  } catch {
    throw new Error(`TLKIT_MIRROR is not a URL: ${JSON.stringify(mirror)}`);
  }
  const original = new URL(url);
  const prefix = mirrorUrl.pathname.replace(/\/+$/, '');
  return `${mirrorUrl.protocol}//${mirrorUrl.host}${prefix}${original.pathname}${original.search}`;
}
