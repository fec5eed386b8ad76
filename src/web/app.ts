/**
 * The `tlkit web` page's logic, run in the browser. Everything it computes goes through
 * tlkit/browser (served as /tlkit.mjs): the same transforms, target task, strategies and
 * checkpoint format as the Node CLI, on onnxruntime-web.
 */
import type * as TlkitModule from '../browser/index.js';
import type { EpochRecord } from '../train/fit.js';
import type { ImageClassifier } from '../models/classifier.js';
import type { SourceDataset, ImageSource, Sample } from '../data/dataset.js';
import type { HostTensor } from '../tensor.js';

type Tlkit = typeof TlkitModule;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

interface PageState {
  net?: ImageClassifier;
  inputShape?: number[];
  abort?: AbortController;
}

export interface FashionRunOptions {
  strategy: 'fixed' | 'finetune';
  epochs: number;
  lr: number;
  seed: number;
  backbone: 'source' | 'scratch' | { bytes: Uint8Array; name: string };
}

export interface RunResult {
  accuracy: number;
  history: EpochRecord[];
  milliseconds: number;
}

const state: PageState = {};
const logLines: string[] = [];

function log(line: string): void {
  logLines.push(line);
  $('log').textContent = logLines.slice(-200).join('\n');
  $('log').scrollTop = 1e9;
}

function checked(name: string): string {
  return (document.querySelector(`input[name=${name}]:checked`) as HTMLInputElement | null)?.value ?? '';
}

function numberOf(id: string): number {
  return Number(($(id) as HTMLInputElement).value);
}

/** Loss (left scale) and accuracy (0..1) per epoch, redrawn after each epoch. */
function drawChart(history: EpochRecord[]): void {
  const svg = $('chart');
  const width = 600, height = 220, pad = 34;
  const maxLoss = Math.max(1e-6, ...history.map((r) => r.trainLoss));
  const x = (i: number) => pad + (history.length <= 1 ? 0 : (i / (history.length - 1)) * (width - 2 * pad));
  const yLoss = (v: number) => height - pad - (v / maxLoss) * (height - 2 * pad);
  const yAcc = (v: number) => height - pad - v * (height - 2 * pad);
  const line = (values: number[], y: (v: number) => number) => values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  svg.innerHTML = `
    <line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#999"/>
    <line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#999"/>
    <text x="${pad}" y="${pad - 8}" font-size="12" fill="#d35400">loss (max ${maxLoss.toFixed(3)})</text>
    <text x="${width - pad}" y="${pad - 8}" font-size="12" fill="#2f6fde" text-anchor="end">accuracy (0 to 1)</text>
    <text x="${width / 2}" y="${height - 8}" font-size="12" text-anchor="middle">epoch ${history.length}</text>
    <polyline fill="none" stroke="#d35400" stroke-width="2" points="${line(history.map((r) => r.trainLoss), yLoss)}"/>
    <polyline fill="none" stroke="#2f6fde" stroke-width="2" points="${line(history.map((r) => r.valAccuracy), yAcc)}"/>
    ${history.map((r, i) => `<circle cx="${x(i).toFixed(1)}" cy="${yLoss(r.trainLoss).toFixed(1)}" r="3" fill="#d35400"/><circle cx="${x(i).toFixed(1)}" cy="${yAcc(r.valAccuracy).toFixed(1)}" r="3" fill="#2f6fde"/>`).join('')}`;
}

/** Evaluation images as thumbnails, framed blue when predicted right and red when wrong. */
function drawGrid(images: Array<{ source: ImageSource; right: boolean; title: string }>): void {
  const grid = $('grid');
  grid.innerHTML = '';
  for (const { source, right, title } of images) {
    if (source.kind !== 'pixels') continue;
    const canvas = document.createElement('canvas');
    canvas.width = source.width;
    canvas.height = source.height;
    canvas.className = right ? 'right' : 'wrong';
    canvas.title = title;
    const rgba = new ImageData(source.width, source.height);
    for (let p = 0; p < source.width * source.height; p++) {
      for (let c = 0; c < 3; c++) rgba.data[p * 4 + c] = source.data[p * source.channels + (source.channels === 1 ? 0 : c)]!;
      rgba.data[p * 4 + 3] = 255;
    }
    canvas.getContext('2d')!.putImageData(rgba, 0, 0);
    grid.append(canvas);
  }
}

function download(name: string, parts: Uint8Array[]): void {
  const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function weightsFrom(tlkit: Tlkit, bytes: Uint8Array, name: string): Map<string, HostTensor> {
  return name.endsWith('.safetensors') ? tlkit.parseSafetensors(bytes, name).tensors : tlkit.parseCheckpoint(bytes, name).tensors;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Images dropped into class boxes, decoded by the browser into pixel sources. */
class DroppedImages implements SourceDataset {
  constructor(readonly sources: ImageSource[], readonly labels: number[], readonly classNames: string[]) {}
  get length(): number { return this.sources.length; }
  labelAt(index: number): number { return this.labels[index]!; }
  sourceAt(index: number): ImageSource { return this.sources[index]!; }
  async get(): Promise<Sample> { throw new Error('dropped images need transforms'); }
}

const dropped: Array<{ name: string; images: ImageSource[] }> = [];

function addClass(): void {
  const entry = { name: `class ${dropped.length + 1}`, images: [] as ImageSource[] };
  dropped.push(entry);
  const box = document.createElement('div');
  box.className = 'drop';
  const title = document.createElement('input');
  title.value = entry.name;
  title.oninput = () => { entry.name = title.value; };
  const count = document.createElement('div');
  count.textContent = 'drop images here';
  box.append(title, count);
  box.ondragover = (event) => { event.preventDefault(); box.classList.add('over'); };
  box.ondragleave = () => box.classList.remove('over');
  box.ondrop = async (event) => {
    event.preventDefault();
    box.classList.remove('over');
    const tlkit = await loaded;
    for (const file of [...(event.dataTransfer?.files ?? [])]) {
      const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
      entry.images.push(tlkit.pixelsFromImage(bitmap));
      bitmap.close();
    }
    count.textContent = `${entry.images.length} images`;
  };
  $('classes').append(box);
}

async function loadFashion(tlkit: Tlkit) {
  const [images, labels, meta] = await Promise.all([
    fetchBytes('/data/fashion-mnist-images.idx'), fetchBytes('/data/fashion-mnist-labels.idx'),
    fetch('/data/fashion-mnist.json').then((r) => r.json() as Promise<{ classNames: string[]; mean: number[]; std: number[] }>),
  ]);
  const pixels = tlkit.parseIdx(images, 'fashion-mnist images');
  const classes = tlkit.parseIdx(labels, 'fashion-mnist labels');
  const [n, h, w] = pixels.shape as [number, number, number];
  const dataset = new tlkit.InMemoryDataset({ images: pixels.data as Uint8Array, shape: [n, 1, h, w], labels: Int32Array.from(classes.data as Uint8Array), classNames: meta.classNames });
  return { dataset, meta, inputShape: [1, h, w] };
}

/** The shipped Fashion-MNIST target task, trained the way `tlkit pipeline` trains its fixed-feature row. */
export async function runFashion(tlkit: Tlkit, options: FashionRunOptions): Promise<RunResult> {
  const started = performance.now();
  const { dataset, meta, inputShape } = await loadFashion(tlkit);
  const task = tlkit.targetTask(dataset, tlkit.PIPELINE_TASK.seed === options.seed ? tlkit.PIPELINE_TASK : { ...tlkit.PIPELINE_TASK, seed: options.seed });
  log(`target task: ${task.target.classNames.join(', ')}; ${task.labelled.length} labelled, ${task.evaluation.length} to evaluate`);
  const transforms = tlkit.compose([tlkit.Normalize(meta.mean, meta.std), tlkit.HWC2CHW()], { channels: 1 });
  const source = options.backbone === 'source' ? weightsFrom(tlkit, await fetchBytes('/data/source.ckpt'), 'source.ckpt')
    : options.backbone === 'scratch' ? undefined : weightsFrom(tlkit, options.backbone.bytes, options.backbone.name);
  const net = tlkit.transferredNet(tlkit.PIPELINE_MODEL, 1, task.source.classNames.length, task.target.classNames.length, options.seed, (n) => {
    if (source) tlkit.loadParamIntoNet(n, source, { strict: false });
  });
  const train = new tlkit.DataLoader(task.labelled, { batchSize: task.batchSize, shuffle: true, seed: options.seed, transforms });
  const evaluation = new tlkit.DataLoader(task.evaluation, { batchSize: 256, seed: options.seed, transforms });
  // The last epoch's validation is the evaluation (inference mode, the whole evaluation split): no second pass.
  const { history, result } = await train_(tlkit, net, options, train, evaluation, inputShape);
  drawGrid(result.indices.slice(0, 64).map((index, k) => ({
    source: task.evaluation.sourceAt(index), right: result.predicted[k] === result.labels[k],
    title: `${task.target.classNames[result.predicted[k]!]} (true: ${task.target.classNames[result.labels[k]!]})`,
  })));
  state.net = net;
  state.inputShape = inputShape;
  return { accuracy: result.accuracy, history, milliseconds: performance.now() - started };
}

async function train_(tlkit: Tlkit, net: ImageClassifier, options: FashionRunOptions, train: TlkitModule.DataLoader, val: TlkitModule.DataLoader, inputShape: number[]): Promise<{ history: EpochRecord[]; result: TlkitModule.Evaluation }> {
  const history: EpochRecord[] = [];
  state.abort = new AbortController();
  const common = {
    ...tlkit.FIXED_FEATURE_RECIPE, epochs: options.epochs, lr: options.lr, train, val, inputShape, log, signal: state.abort.signal,
    onEpochEnd: (record: EpochRecord) => { history.push(record); drawChart(history); },
  };
  const fitted = options.strategy === 'fixed'
    ? await tlkit.trainFixedFeature(net, common)
    : (await tlkit.fineTune(net, { ...common, optimizer: { kind: 'momentum', momentum: 0.9, weightDecay: 5e-4 } })).body;
  return { history, result: fitted.lastEvaluation ?? (await tlkit.evaluate(net, val, inputShape)) };
}

async function runDropped(tlkit: Tlkit, options: FashionRunOptions): Promise<RunResult> {
  const started = performance.now();
  const classes = dropped.filter((c) => c.images.length > 0);
  if (classes.length < 2) throw new Error('drop images into at least two classes');
  const size = numberOf('size');
  const dataset = new DroppedImages(classes.flatMap((c) => c.images), classes.flatMap((c, k) => c.images.map(() => k)), classes.map((c) => c.name));
  const { train: trainView, val: valView } = tlkit.trainValSplit(dataset, 0.2, options.seed);
  const transforms = tlkit.compose([tlkit.Resize(Math.round((size * 8) / 7)), tlkit.CenterCrop(size), tlkit.Normalize(tlkit.IMAGENET_MEAN_255, tlkit.IMAGENET_STD_255), tlkit.HWC2CHW()]);
  const inputShape = [3, size, size];
  const model = (($('model') as HTMLSelectElement).value);
  let net: ImageClassifier;
  if (typeof options.backbone === 'object') {
    net = tlkit.modelFromWeights(model, weightsFrom(tlkit, options.backbone.bytes, options.backbone.name), { source: options.backbone.name }).net;
    tlkit.seedInitializers(options.seed + 1);
    net = tlkit.replaceHead(net, classes.length);
  } else {
    net = tlkit.pipelineNet({ name: model, width: numberOf('width'), smallInput: size <= 64 }, classes.length, 3, options.seed);
  }
  const batchSize = Math.min(numberOf('batch'), trainView.length);
  const train = new tlkit.DataLoader(trainView, { batchSize, shuffle: true, seed: options.seed, transforms });
  const val = new tlkit.DataLoader(valView, { batchSize: 64, seed: options.seed, transforms });
  const { history, result } = await train_(tlkit, net, options, train, val, inputShape);
  drawGrid(result.indices.slice(0, 64).map((index, k) => ({ source: valView.sourceAt(index), right: result.predicted[k] === result.labels[k], title: classes[result.predicted[k]!]!.name })));
  state.net = net;
  state.inputShape = inputShape;
  return { accuracy: result.accuracy, history, milliseconds: performance.now() - started };
}

async function onTrain(tlkit: Tlkit): Promise<void> {
  const backboneChoice = checked('backbone');
  const file = ($('weights') as HTMLInputElement).files?.[0];
  if (backboneChoice === 'file' && !file) throw new Error('choose a .ckpt or .safetensors file, or another backbone');
  const options: FashionRunOptions = {
    strategy: checked('strategy') === 'finetune' ? 'finetune' : 'fixed',
    epochs: numberOf('epochs'), lr: numberOf('lr'), seed: numberOf('seed'),
    backbone: backboneChoice === 'file' ? { bytes: new Uint8Array(await file!.arrayBuffer()), name: file!.name } : backboneChoice === 'source' ? 'source' : 'scratch',
  };
  document.body.dataset.state = 'training';
  const result = checked('data') === 'mine' ? await runDropped(tlkit, options) : await runFashion(tlkit, options);
  $('result').textContent = `${options.strategy === 'fixed' ? 'fixed features' : 'fine-tuned'}: accuracy ${result.accuracy.toFixed(3)} in ${(result.milliseconds / 1000).toFixed(1)} s`;
  document.body.dataset.accuracy = String(result.accuracy);
  document.body.dataset.state = 'done';
  ($('download-onnx') as HTMLButtonElement).disabled = false;
  ($('download-ckpt') as HTMLButtonElement).disabled = false;
}

const threads = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;

async function start(): Promise<Tlkit> {
  const tlkit = (await import(new URL('/tlkit.mjs', location.href).href)) as Tlkit;
  const isolated = globalThis.crossOriginIsolated === true;
  $('status').textContent = isolated
    ? `onnxruntime-web (wasm), ${threads(tlkit.browserThreads())}: the page is cross-origin isolated`
    : 'onnxruntime-web (wasm) on a single thread: this page is not cross-origin isolated (serve it with COOP/COEP headers, as tlkit web does, for threads)';
  if (!isolated) $('status').classList.add('notice');
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name=data]')) input.onchange = () => { $('mine').hidden = checked('data') !== 'mine'; };
  $('add-class').onclick = addClass;
  addClass();
  addClass();
  const button = $('train') as HTMLButtonElement;
  button.onclick = () => {
    button.disabled = true;
    ($('stop') as HTMLButtonElement).disabled = false;
    onTrain(tlkit).catch((error: Error) => {
      log(`error: ${error.message}`);
      $('result').textContent = error.message;
      document.body.dataset.state = 'error';
    }).finally(() => {
      button.disabled = false;
      ($('stop') as HTMLButtonElement).disabled = true;
    });
  };
  $('stop').onclick = () => state.abort?.abort();
  $('download-onnx').onclick = () => download('model.onnx', [tlkit.exportInferenceOnnx(state.net!, { inputShape: state.inputShape! })]);
  $('download-ckpt').onclick = () => download('model.ckpt', tlkit.encodeCheckpoint(tlkit.netCheckpointEntries(state.net!)));
  button.disabled = false;
  document.body.dataset.state = 'ready';
  return tlkit;
}

const loaded = start();
// For tests and the console: the loaded module and the page's own runs.
(globalThis as Record<string, unknown>).tlkitPage = { loaded, runFashion, state };
