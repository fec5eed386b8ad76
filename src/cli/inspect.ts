import { promises as fs } from 'node:fs';
import type { Command } from 'commander';
import { type HostTensor, formatShape, numel } from '../tensor.js';
import { isOptimizerEntry } from '../io/load-params.js';
import { detectConvention } from '../io/names.js';
import { summarizeOnnx, type OnnxSummary } from '../io/onnx-inspect.js';
import { refusePickle } from '../io/pickle-guard.js';
import { formatImportSummary, summarizeImport, type ImportSummary } from '../onnx-import/inspect.js';
import { detectWeightFormat, readWeightFile, type WeightFormat } from '../io/weights.js';

export interface TensorRow {
  name: string;
  dtype: string;
  shape: (number | string)[];
  numel: number;
  optimizer: boolean;
}

export interface WeightsReport {
  file: string;
  format: WeightFormat;
  convention: string;
  tensors: TensorRow[];
  /** Elements in model tensors (optimizer state excluded). */
  parameterCount: number;
  optimizerCount: number;
  metadata: Record<string, string>;
  onnx?: Omit<OnnxSummary, 'initializers'>;
  /** For an ONNX model: where it can be cut for transfer. */
  onnxImport?: ImportSummary;
}

function rowsOf(tensors: Map<string, HostTensor>): TensorRow[] {
  return [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, numel: numel(t.shape), optimizer: isOptimizerEntry(name) }));
}

export async function inspectWeights(file: string): Promise<WeightsReport> {
  const bytes = await fs.readFile(file);
  refusePickle(bytes, file);
  let tensors: TensorRow[] | undefined;
  let format: WeightFormat = 'onnx';
  let metadata: Record<string, string> = {};
  let onnx: Omit<OnnxSummary, 'initializers'> | undefined;
  if (detectWeightFormat(bytes.subarray(0, 64), bytes.length) === 'onnx') {
    // Summarising ONNX reads shapes without converting weights, and keeps external-data models inspectable.
    try {
      const { initializers, ...rest } = summarizeOnnx(bytes, file);
      onnx = rest;
      tensors = initializers.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape, numel: i.numel, optimizer: false }));
    } catch {
      // Not a model; readWeightFile below tries it as a lone TensorProto and reports if that fails too.
    }
  }
  if (!tensors) {
    const weights = await readWeightFile(file);
    format = weights.format;
    metadata = weights.metadata;
    tensors = rowsOf(weights.tensors);
  }
  const model = tensors.filter((t) => !t.optimizer);
  return {
    file,
    format,
    convention: detectConvention(model.map((t) => t.name)),
    tensors,
    parameterCount: model.reduce((sum, t) => sum + t.numel, 0),
    optimizerCount: tensors.length - model.length,
    metadata,
    ...(onnx ? { onnx } : {}),
    ...(onnx ? { onnxImport: await summarizeImport(file) } : {}),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

const shapeText = (shape: (number | string)[]): string => formatShape(shape);

export function formatWeightsReport(report: WeightsReport): string {
  const lines = [`${report.file}: ${report.format}, ${report.tensors.length} tensors, ${report.parameterCount.toLocaleString('en-US')} parameters`];
  if (report.optimizerCount) lines.push(`optimizer state: ${report.optimizerCount} tensors (moments.*, learning_rate, ...), not counted above`);
  if (report.convention !== 'unknown') lines.push(`name convention: ${report.convention}`);
  for (const [key, value] of Object.entries(report.metadata)) lines.push(`metadata ${key}: ${value}`);
  if (report.onnx) {
    const o = report.onnx;
    lines.push(`ir_version ${o.irVersion}${o.producer ? `, producer ${o.producer}` : ''}, ${o.nodeCount} nodes`);
    lines.push(`opsets: ${o.opsets.map((s) => `${s.domain} ${s.version}`).join(', ')}`);
    for (const i of o.inputs) lines.push(`input  ${i.name}: ${i.elemType} ${shapeText(i.shape)}`);
    for (const i of o.outputs) lines.push(`output ${i.name}: ${i.elemType} ${shapeText(i.shape)}`);
    if (report.onnxImport) lines.push(...formatImportSummary(report.onnxImport));
  }
  lines.push('');
  const rows = [['name', 'dtype', 'shape', 'elements']];
  for (const t of report.tensors) rows.push([t.name + (t.optimizer ? ' (optimizer)' : ''), t.dtype, shapeText(t.shape), String(t.numel)]);
  lines.push(table(rows));
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('list tensor names, dtypes, shapes and parameter count of a .ckpt, .safetensors (or index.json), .npy or .onnx file')
    .argument('<file>', 'weight file')
    .option('--json', 'print only JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      const report = await inspectWeights(file);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatWeightsReport(report)}\n`);
    });
}
