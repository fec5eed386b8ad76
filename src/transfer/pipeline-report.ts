/** Writes what a pipeline run leaves behind: the table, JSON, prediction grid, run record and HTML report. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { renderPredictionGrid } from '../report/grid.js';
import { writeRunImages, writeRunRecord, type RunRecord } from '../report/run-record.js';
import { writeReport } from '../report/write-report.js';
import type { PipelineData } from './pipeline-data.js';
import type { StudyDetails, StudyResult, TargetMethod } from './pipeline.js';
import { fewShotSplit, splitByClass } from '../data/splits.js';

export const METHOD_LABELS: Record<TargetMethod, string> = {
  scratch: 'from scratch (same labels)',
  'fixed-feature': 'fixed features + new head',
  'feature-softmax': 'features -> softmax regression',
  'feature-knn': 'features -> k-nearest neighbours',
  finetune: 'fine-tuned (head, then all)',
  'finetune-rkd': 'fine-tuned + relational KD',
};

export function pipelineJson(details: StudyDetails): StudyResult & { precision?: 'int8'; int8?: StudyDetails['int8'] } {
  // float32 results keep the shape they always had; an int8 run says so, with its calibration.
  return { source: details.source, target: details.target, ...(details.precision === 'int8' ? { precision: details.precision, ...(details.int8 ? { int8: details.int8 } : {}) } : {}) };
}

/** The comparison table as Markdown, each method against training from scratch. */
export function comparisonTable(details: StudyDetails): string {
  const scratch = details.target.find((t) => t.method === 'scratch')?.accuracy ?? 0;
  const lines = [
    `Source task (${details.sourceClasses.join(', ')}): accuracy ${details.source.accuracy.toFixed(3)}; ` +
      `naive baselines: majority class ${details.source.baselines.majority.toFixed(3)}, linear on pixels ${details.source.baselines.linear.toFixed(3)}`,
    '',
    `Target task (${details.targetClasses.join(', ')}), ${details.shots} labelled images per class, seed ${details.seed}:`,
    '',
    '| method | target accuracy | vs scratch |',
    '|---|---|---|',
    ...details.target.map((t) => {
      const delta = t.method === 'scratch' ? '' : `${t.accuracy >= scratch ? '+' : ''}${((t.accuracy - scratch) * 100).toFixed(1)} pts${t.accuracy < scratch ? ' (negative transfer)' : ''}`;
      return `| ${t.method} — ${METHOD_LABELS[t.method]} | ${t.accuracy.toFixed(3)} | ${delta} |`;
    }),
    ...(details.int8
      ? ['', `int8 backbone for fixed-feature and feature-based transfer (${details.int8.calibration.method} calibration on ${details.int8.calibration.images} labelled target images)` +
        (details.int8.agreement ? `: int8 vs float32 feature cosine ${details.int8.agreement.meanCosine.toFixed(4)} mean, ${details.int8.agreement.minCosine.toFixed(4)} min over ${details.int8.agreement.images} evaluation images` : '') +
        '; scratch and fine-tuning train every layer and stay float32.']
      : []),
  ];
  return lines.join('\n');
}

export interface WrittenOutputs {
  table: string;
  json: string;
  predictions?: string;
  runRecord: string;
  report: string;
}

export async function writePipelineOutputs(outDir: string, details: StudyDetails, data: PipelineData, config: Record<string, unknown>): Promise<WrittenOutputs> {
  await fs.mkdir(outDir, { recursive: true });
  const table = path.join(outDir, 'comparison.md');
  await writeFileAtomic(table, Buffer.from(`${comparisonTable(details)}\n`));
  const json = path.join(outDir, 'results.json');
  await writeFileAtomic(json, Buffer.from(`${JSON.stringify({ ...pipelineJson(details), timingsMs: details.timingsMs }, null, 2)}\n`));

  const record: RunRecord = {
    config: { ...config, curves: 'training of the source model (step 2)', data: data.description, sourceClasses: details.sourceClasses.join(', '), targetClasses: details.targetClasses.join(', '), shots: details.shots, seed: details.seed },
    classNames: details.targetClasses,
    history: details.sourceHistory.map((h) => ({ epoch: h.epoch, trainLoss: h.trainLoss, trainAccuracy: h.trainAccuracy, valLoss: h.valLoss, valAccuracy: h.valAccuracy, epochMs: h.epochMs, stepMs: h.stepMs })),
    comparison: [
      ...details.target.map((t) => ({ method: t.method, accuracy: t.accuracy, isBaseline: t.method === 'scratch' })),
    ],
  };
  let predictions: string | undefined;
  const best = details.bestEvaluation;
  if (best) {
    record.config.evaluated = `${best.method} on the target's evaluation images`;
    record.evaluation = { labels: best.evaluation.labels, predicted: best.evaluation.predicted, probabilities: best.evaluation.probabilities };
    // The evaluation loader ran the target view in order; rebuild it to fetch the same images.
    const target = splitByClass(data.dataset, details.targetClassIndices).target;
    const { evaluation } = fewShotSplit(target, details.shots, details.seed);
    const count = Math.min(48, evaluation.length);
    const images: Float32Array[] = [];
    for (let i = 0; i < count; i++) images.push((await data.transforms.apply(evaluation.sourceAt(i))).data);
    record.images = await writeRunImages(outDir, images, data.inputShape, data.normalization);
    const shown = 12;
    const png = await renderPredictionGrid({
      images: images.slice(0, shown), shape: data.inputShape, mean: data.normalization.mean, std: data.normalization.std,
      predicted: best.evaluation.predicted.slice(0, shown), actual: best.evaluation.labels.slice(0, shown), classNames: details.targetClasses, rows: 3, cols: 4,
    });
    predictions = path.join(outDir, 'predictions.png');
    await writeFileAtomic(predictions, png);
  }
  await writeRunRecord(outDir, record);
  const report = await writeReport(outDir);
  return { table, json, predictions, runRecord: path.join(outDir, 'run.json'), report };
}
