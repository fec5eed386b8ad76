import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { className, renderImageGrid, renderPredictionGrid } from './grid.js';
import { buildReportHtml, type ReportContent } from './html.js';
import { mostConfidentMistakes } from './metrics.js';
import { PREDICTIONS_PNG, PREVIEW_PNG, readRunImages, readRunRecord, type RunRecord } from './run-record.js';

export const DEFAULT_REPORT_FILE = 'report.html';
/** Enough to judge at a glance, few enough to keep the page light. */
const PREDICTION_GRID_LIMIT = 12;
const MISTAKE_GRID_LIMIT = 8;

export interface RenderReportOptions {
  /** Adds the dashboard's reload-on-update script. */
  liveUpdates?: boolean;
}

/** Reads a run directory and returns its report page. */
export async function renderReportHtml(runDir: string, options: RenderReportOptions = {}): Promise<string> {
  const record = await readRunRecord(runDir);
  const content: ReportContent = {
    record,
    runName: path.basename(path.resolve(runDir)),
    generatedAt: new Date(),
    liveUpdates: options.liveUpdates,
    imageNotes: {},
  };
  content.previewPng = await readPngIfPresent(path.join(runDir, PREVIEW_PNG));
  content.predictionsPng = await readPngIfPresent(path.join(runDir, PREDICTIONS_PNG));
  if (record.images !== undefined && record.evaluation !== undefined && record.images.count > 0) {
    const images = await readRunImages(runDir, record.images);
    content.predictionsPng ??= await predictionGrid(record, images);
    const mistakes = await mistakeGrid(record, images);
    if (mistakes === undefined) {
      content.imageNotes!.mistakes = `No wrong predictions among the ${images.length} stored evaluation images.`;
    } else {
      content.mistakesPng = mistakes;
    }
  } else if (record.evaluation !== undefined) {
    content.imageNotes!.predictions ??= 'The run stored no evaluation images (run.json has no "images").';
    content.imageNotes!.mistakes = 'The run stored no evaluation images (run.json has no "images").';
  }
  return buildReportHtml(content);
}

/**
 * Writes the run's report as one self-contained HTML file and returns its path
 * (default: report.html inside the run directory).
 */
export async function writeReport(runDir: string, outPath: string = path.join(runDir, DEFAULT_REPORT_FILE)): Promise<string> {
  const html = await renderReportHtml(runDir);
  await writeFileAtomic(outPath, Buffer.from(html, 'utf8'));
  return outPath;
}

async function predictionGrid(record: RunRecord, images: Float32Array[]): Promise<Buffer> {
  const { shape, mean, std } = record.images!;
  const count = Math.min(images.length, PREDICTION_GRID_LIMIT);
  const cols = Math.min(count, 6);
  return renderPredictionGrid({
    images: images.slice(0, count),
    shape,
    mean,
    std,
    predicted: record.evaluation!.predicted.slice(0, count),
    actual: record.evaluation!.labels.slice(0, count),
    classNames: record.classNames,
    rows: Math.ceil(count / cols),
    cols,
  });
}

async function mistakeGrid(record: RunRecord, images: Float32Array[]): Promise<Buffer | undefined> {
  const { labels, predicted, probabilities } = record.evaluation!;
  const stored = images.length;
  const mistakes = mostConfidentMistakes(labels.slice(0, stored), predicted.slice(0, stored), probabilities.slice(0, stored), MISTAKE_GRID_LIMIT);
  if (mistakes.length === 0) return undefined;
  const { shape, mean, std } = record.images!;
  const cols = Math.min(mistakes.length, 4);
  return renderImageGrid({
    images: mistakes.map((m) => images[m.index]!),
    shape,
    mean,
    std,
    titles: mistakes.map((m) => mistakeTitle(className(record.classNames, m.actual), className(record.classNames, m.predicted), m.confidence)),
    titleColors: mistakes.map(() => '#d11f2a'),
    rows: Math.ceil(mistakes.length / cols),
    cols,
  });
}

/** `true / predicted (p=0.97)`, broken before the probability when one line would be too wide. */
export function mistakeTitle(actual: string, predicted: string, confidence: number): string {
  const names = `${actual} / ${predicted}`;
  const probability = `(p=${confidence.toFixed(2)})`;
  return names.length + probability.length + 1 <= 28 ? `${names} ${probability}` : `${names}\n${probability}`;
}

async function readPngIfPresent(file: string): Promise<Buffer | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(signature)) throw new Error(`${file}: not a PNG file`);
  return bytes;
}
