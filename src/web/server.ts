import { promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_CLASSES, findFashionMnistFiles } from '../data/fashion-mnist.js';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD } from '../transfer/pipeline-data.js';
import { encodeIdx, parseIdx } from '../data/idx.js';
import { renderWebPage } from './page.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/browser: the bundle and onnxruntime-web's files. */
export const BROWSER_DIR = path.resolve(here, '..', '..', 'browser');
const APP_FILE = path.join(here, 'app.js');

const TYPES: Record<string, string> = {
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
};

export interface WebServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** A source checkpoint the page offers as its default backbone (the demo's checkpoints/source-best.ckpt). */
  sourceCheckpoint?: string;
  /** Serve without COOP/COEP, as a plain static host would: the page then runs single-threaded. */
  isolated?: boolean;
}

export interface WebServer {
  /** http://127.0.0.1:<port>/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the `tlkit web` page on 127.0.0.1 with what it needs: the browser bundle, onnxruntime-web's
 * wasm files, the shipped Fashion-MNIST (decompressed, so the page parses it as is) and, when given,
 * a source checkpoint. Cross-origin isolation headers (COOP + COEP) let onnxruntime-web use threads.
 */
export async function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  await fs.access(path.join(BROWSER_DIR, 'tlkit.mjs')).catch(() => {
    throw new Error(`${path.join(BROWSER_DIR, 'tlkit.mjs')} is missing: run npm run build (it bundles the browser build)`);
  });
  const isolation: Record<string, string> = options.isolated === false ? {} : {
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cross-origin-resource-policy': 'same-origin',
  };
  const send = (response: ServerResponse, status: number, type: string, body: string | Uint8Array): void => {
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...isolation }).end(body);
  };
  const fashion = lazy(async () => {
    const files = findFashionMnistFiles({ split: 'test' });
    const [images, labels] = await Promise.all([fs.readFile(files.images), fs.readFile(files.labels)]);
    // The IDX bytes the page parses with parseIdx (gzip is undone here: the page has no zlib).
    return { images: encodeIdx(parseIdx(images, files.images)), labels: encodeIdx(parseIdx(labels, files.labels)) };
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const name = url.pathname;
    if (name === '/' || name === '/index.html') {
      send(response, 200, TYPES['.html']!, renderWebPage({ sourceCheckpoint: options.sourceCheckpoint ? path.basename(options.sourceCheckpoint) : undefined }));
    } else if (name === '/app.js') {
      send(response, 200, TYPES['.js']!, await fs.readFile(APP_FILE));
    } else if (name === '/data/fashion-mnist-images.idx' || name === '/data/fashion-mnist-labels.idx') {
      const data = await fashion();
      send(response, 200, 'application/octet-stream', name.includes('images') ? data.images : data.labels);
    } else if (name === '/data/fashion-mnist.json') {
      send(response, 200, 'application/json', JSON.stringify({ classNames: FASHION_MNIST_CLASSES, mean: FASHION_MNIST_MEAN, std: FASHION_MNIST_STD }));
    } else if (name === '/data/source.ckpt' && options.sourceCheckpoint) {
      send(response, 200, 'application/octet-stream', await fs.readFile(options.sourceCheckpoint));
    } else if (name === '/favicon.ico') {
      response.writeHead(204, isolation).end();
    } else if (/^\/[\w.-]+\.(mjs|wasm|map)$/.test(name)) {
      const file = path.join(BROWSER_DIR, name.slice(1));
      const body = await fs.readFile(file).catch(() => undefined);
      if (body) send(response, 200, TYPES[path.extname(name)]!, body);
      else send(response, 404, 'text/plain; charset=utf-8', `${name} not found`);
    } else {
      send(response, 404, 'text/plain; charset=utf-8', `${name} not found`);
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= make());
}
