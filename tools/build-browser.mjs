#!/usr/bin/env node
// Bundles the browser entry (dist/src/browser/index.js, from tsc) into dist/browser/tlkit.mjs with
// onnxruntime-web's wasm loader and binary copied beside it, where onnxruntime-web finds them
// (relative to the bundle's import.meta.url). Node-only modules never enter the bundle: each
// `*-node.js` module (ORT for Node, sharp, files, progress bars) is replaced by one exporting
// `undefined`, and the browser entry installs onnxruntime-web and the canvas image backend instead.
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'browser');
/** The wasm flavour of onnxruntime-web's main build (wasm + WebGPU + WebGL): JSEP. */
export const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

const nodeOnly = {
  name: 'node-only-modules',
  setup(build) {
    build.onResolve({ filter: /-node\.js$/ }, (args) => {
      if (!args.importer.startsWith(path.join(root, 'dist', 'src'))) return undefined;
      return { path: path.resolve(args.resolveDir, args.path), namespace: 'node-only' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, (args) => {
      const names = [...readFileSync(args.path, 'utf8').matchAll(/^export const (\w+)/gm)].map((m) => m[1]);
      return { contents: names.map((name) => `export const ${name} = undefined;`).join('\n'), loader: 'js' };
    });
  },
};

export async function buildBrowser({ minify = true } = {}) {
  const entry = path.join(root, 'dist', 'src', 'browser', 'index.js');
  statSync(entry); // run tsc first
  mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile: path.join(outDir, 'tlkit.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // onnxruntime-web's build that loads its wasm files from beside the script rather than inlining them.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    minify,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    plugins: [nodeOnly],
  });
  // What went into the bundle (the bundle test checks that nothing Node-only did).
  writeFileSync(path.join(outDir, 'tlkit.meta.json'), JSON.stringify(result.metafile));
  const ortDist = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm'));
  for (const file of ORT_FILES) copyFileSync(path.join(ortDist, file), path.join(outDir, file));
  return { outFile: path.join(outDir, 'tlkit.mjs'), outDir, inputs: Object.keys(result.metafile.inputs) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { outFile, inputs } = await buildBrowser();
  process.stdout.write(`${path.relative(root, outFile)}: ${(statSync(outFile).size / 1024).toFixed(0)} KiB from ${inputs.length} modules\n`);
}
