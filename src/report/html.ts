import { renderClassMetricsSvg } from './class-metrics-chart.js';
import { judgeComparison } from './comparison.js';
import { renderConfusionMatrixSvg } from './confusion-chart.js';
import { renderTrainingCurvesSvg } from './curves.js';
import { accuracy, confusionMatrix, macroAverage, perClassMetrics, type ClassMetrics } from './metrics.js';
import type { RunRecord, SkippedFileRecord } from './run-record.js';
import { REPORT_CSS } from './style.js';

export interface ReportContent {
  record: RunRecord;
  /** Shown in the heading: usually the run directory's name. */
  runName: string;
  generatedAt: Date;
  previewPng?: Buffer;
  predictionsPng?: Buffer;
  mistakesPng?: Buffer;
  /** Why an image section is empty, when there is a better reason than "not recorded". */
  imageNotes?: Partial<Record<'preview' | 'predictions' | 'mistakes', string>>;
  /** Adds a script that reloads the page when the dashboard's event stream says the run changed. */
  liveUpdates?: boolean;
}

/**
 * Reloads the page when the dashboard's event stream says the run changed; marks the document
 * `data-live="connected"` once the stream is open, so the badge (and tests) can tell.
 */
export const LIVE_SCRIPT =
  `<script>const source = new EventSource('events');` +
  `source.addEventListener('open', () => { document.documentElement.dataset.live = 'connected'; });` +
  `source.addEventListener('error', () => { document.documentElement.dataset.live = 'disconnected'; });` +
  `source.addEventListener('update', () => location.reload());</script>`;

/** Section ids, in page order; tests and links rely on them. */
export const REPORT_SECTIONS = ['summary', 'configuration', 'comparison', 'curves', 'confusion', 'per-class', 'preview', 'predictions', 'mistakes'] as const;

/**
 * The whole report as one self-contained HTML page: inline CSS, inline SVG charts, PNGs as data
 * URIs, no script unless live updates are asked for, and nothing fetched from the network.
 */
export function buildReportHtml(content: ReportContent): string {
  const { record } = content;
  const metrics = record.evaluation === undefined ? undefined : evaluationMetrics(record);
  const sections = [
    summarySection(record, metrics?.accuracy),
    configurationSection(record.config),
    ...(record.skippedFiles === undefined ? [] : [skippedFilesSection(record.skippedFiles)]),
    comparisonSection(record),
    curvesSection(record),
    confusionSection(record, metrics?.matrix),
    perClassSection(metrics?.perClass),
    imageSection('preview', 'Training images', 'A few training images after de-normalization, titled with their class.', content.previewPng, content.imageNotes?.preview),
    imageSection('predictions', 'Predictions', 'Validation images titled with the prediction: blue when right, red when wrong.', content.predictionsPng, content.imageNotes?.predictions),
    imageSection('mistakes', 'Most confidently wrong', 'The wrong predictions the model was surest about: true class / predicted class (probability of the prediction).', content.mistakesPng, content.imageNotes?.mistakes),
  ];
  const live = content.liveUpdates
    ? LIVE_SCRIPT
    : '';
  const liveBadge = content.liveUpdates ? ' <span class="badge live">live</span>' : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(content.runName)} · tlkit report</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header><div class="wrap"><p class="kicker">tlkit run report${liveBadge}</p><h1>${escapeHtml(content.runName)}</h1>
<p class="meta">${escapeHtml(record.classNames.length.toString())} classes · ${record.history.length} epoch${record.history.length === 1 ? '' : 's'} · generated ${escapeHtml(content.generatedAt.toISOString().replace('T', ' ').slice(0, 19))} UTC</p>
<nav>${navigation(record.skippedFiles !== undefined)}</nav></div></header>
<main class="wrap">
${sections.join('\n')}
</main>
${live}
</body>
</html>
`;
}

interface EvaluationMetrics {
  accuracy: number;
  matrix: number[][];
  perClass: ClassMetrics[];
}

function evaluationMetrics(record: RunRecord): EvaluationMetrics | undefined {
  const evaluation = record.evaluation!;
  if (evaluation.labels.length === 0) return undefined;
  const matrix = confusionMatrix(evaluation.labels, evaluation.predicted, record.classNames.length);
  return {
    accuracy: accuracy(evaluation.labels, evaluation.predicted),
    matrix,
    perClass: perClassMetrics(matrix, record.classNames),
  };
}

/**
 * SVG inside HTML needs no namespace declarations; dropping them keeps the page free of any URL
 * text, so "no http anywhere" is a check anyone can run on the file.
 */
function inlineSvg(svg: string): string {
  return svg.replace(/ xmlns(:xlink)?="[^"]*"/g, '');
}

function navigation(withData: boolean): string {
  const names: Record<(typeof REPORT_SECTIONS)[number], string> = {
    summary: 'Summary',
    configuration: 'Configuration',
    comparison: 'Comparison',
    curves: 'Curves',
    confusion: 'Confusion',
    'per-class': 'Per class',
    preview: 'Training images',
    predictions: 'Predictions',
    mistakes: 'Mistakes',
  };
  const links = REPORT_SECTIONS.map((id) => `<a href="#${id}">${names[id]}</a>`);
  if (withData) links.splice(2, 0, '<a href="#data">Data</a>');
  return links.join('');
}

function section(id: string, title: string, body: string, lead?: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2>${lead === undefined ? '' : `<p class="lead">${escapeHtml(lead)}</p>`}${body}</section>`;
}

function missing(text: string): string {
  return `<p class="missing">${escapeHtml(text)}</p>`;
}

function summarySection(record: RunRecord, evaluationAccuracy: number | undefined): string {
  const history = record.history;
  const cards: Array<[string, string, string?]> = [];
  if (history.length > 0) {
    const last = history[history.length - 1]!;
    const best = history.reduce((a, b) => (b.valAccuracy > a.valAccuracy ? b : a));
    cards.push(['final validation accuracy', percent(last.valAccuracy), `epoch ${last.epoch}`]);
    cards.push(['best validation accuracy', percent(best.valAccuracy), `epoch ${best.epoch}`]);
    const meanEpoch = history.reduce((s, e) => s + e.epochMs, 0) / history.length;
    const meanStep = history.reduce((s, e) => s + e.stepMs, 0) / history.length;
    cards.push(['time per epoch', duration(meanEpoch), `${meanStep.toFixed(1)} ms per step`]);
  }
  if (evaluationAccuracy !== undefined) {
    cards.push(['evaluation accuracy', percent(evaluationAccuracy), `${record.evaluation!.labels.length} examples`]);
  }
  if (cards.length === 0) return section('summary', 'Summary', missing('No epoch has finished yet.'));
  const body = `<div class="cards">${cards
    .map(([label, value, note]) => `<div class="card"><div class="value">${escapeHtml(value)}</div><div class="label">${escapeHtml(label)}</div>${note ? `<div class="note">${escapeHtml(note)}</div>` : ''}</div>`)
    .join('')}</div>`;
  return section('summary', 'Summary', body);
}

function configurationSection(config: Record<string, unknown>): string {
  const rows = flatten(config);
  if (rows.length === 0) return section('configuration', 'Configuration', missing('The run recorded no configuration.'));
  const body = `<table class="config"><tbody>${rows
    .map(([key, value]) => `<tr><th scope="row">${escapeHtml(key)}</th><td><code>${escapeHtml(value)}</code></td></tr>`)
    .join('')}</tbody></table>`;
  return section('configuration', 'Configuration', body);
}

const SKIP_KIND_NAMES: Record<string, string> = {
  'bad-image': 'unreadable image', 'too-many-pixels': 'above the pixel limit', link: 'link not followed', 'not-an-image': 'not an image',
};
const SKIPPED_ROWS_SHOWN = 200;

function skippedFilesSection(files: readonly SkippedFileRecord[]): string {
  if (files.length === 0) return section('data', 'Data', '<p>Every file of the data folders was used.</p>');
  const counts = new Map<string, number>();
  for (const f of files) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  const summary = [...counts].map(([kind, n]) => `${n} ${SKIP_KIND_NAMES[kind] ?? kind}`).join(', ');
  const rows = files.slice(0, SKIPPED_ROWS_SHOWN)
    .map((f) => `<tr><td><code>${escapeHtml(f.path)}</code></td><td>${escapeHtml(f.reason)}</td></tr>`).join('');
  const more = files.length > SKIPPED_ROWS_SHOWN ? `<p class="note">and ${files.length - SKIPPED_ROWS_SHOWN} more; run.json lists them all.</p>` : '';
  const body = `<table class="config"><thead><tr><th>file</th><th>why</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
  return section('data', 'Data', body, `${files.length} file${files.length === 1 ? '' : 's'} left out: ${summary}.`);
}

function comparisonSection(record: RunRecord): string {
  const comparison = record.comparison;
  if (comparison === undefined || comparison.length === 0) {
    return section('comparison', 'Comparison', missing('This run has no comparison table.'));
  }
  const judged = judgeComparison(comparison);
  const rows = judged.rows
    .map((row) => {
      const classes = [row.isBest ? 'best' : '', row.belowBaseline ? 'below' : '', row.isBaselineRow ? 'baseline' : ''].filter(Boolean).join(' ');
      const tags = [
        row.isBest ? '<span class="badge best">best</span>' : '',
        row.isBaselineRow ? '<span class="badge baseline">baseline</span>' : '',
        row.belowBaseline ? '<span class="badge below">below scratch: negative transfer</span>' : '',
      ].join('');
      const delta = row.deltaFromBaseline === null ? '' : `${row.deltaFromBaseline >= 0 ? '+' : '−'}${(Math.abs(row.deltaFromBaseline) * 100).toFixed(1)} pt`;
      const barWidth = Math.max(0, Math.min(1, row.accuracy)) * 100;
      return (
        `<tr class="${classes}"><th scope="row">${escapeHtml(row.method)} ${tags}</th>` +
        `<td class="num">${percent(row.accuracy)}</td>` +
        `<td class="num delta">${delta}</td>` +
        `<td class="barcell"><div class="bar"><span style="width:${barWidth.toFixed(1)}%"></span></div></td></tr>`
      );
    })
    .join('');
  const note =
    judged.baseline === undefined
      ? 'No row is marked as the from-scratch baseline, so negative transfer cannot be judged.'
      : `Differences are against “${judged.baseline.method}”. Rows below it did worse than training from scratch.`;
  const body = `<table class="comparison"><thead><tr><th>method</th><th class="num">accuracy</th><th class="num">vs baseline</th><th></th></tr></thead><tbody>${rows}</tbody></table><p class="note">${escapeHtml(note)}</p>`;
  return section('comparison', 'Comparison', body);
}

function curvesSection(record: RunRecord): string {
  if (record.history.length === 0) return section('curves', 'Training curves', missing('No epoch has finished yet.'));
  const rows = record.history
    .map(
      (e) =>
        `<tr><td class="num">${e.epoch}</td><td class="num">${e.trainLoss.toFixed(4)}</td><td class="num">${e.trainAccuracy === undefined ? '–' : percent(e.trainAccuracy)}</td>` +
        `<td class="num">${e.valLoss === undefined ? '–' : e.valLoss.toFixed(4)}</td><td class="num">${percent(e.valAccuracy)}</td><td class="num">${duration(e.epochMs)}</td><td class="num">${e.stepMs.toFixed(1)} ms</td></tr>`,
    )
    .join('');
  const table = `<details><summary>Numbers per epoch</summary><table class="history"><thead><tr><th class="num">epoch</th><th class="num">train loss</th><th class="num">train acc.</th><th class="num">val. loss</th><th class="num">val. acc.</th><th class="num">epoch time</th><th class="num">step time</th></tr></thead><tbody>${rows}</tbody></table></details>`;
  return section('curves', 'Training curves', `<figure class="chart wide">${inlineSvg(renderTrainingCurvesSvg(record.history))}</figure>${table}`, 'Loss and accuracy per epoch; validation dashed.');
}

function confusionSection(record: RunRecord, matrix: number[][] | undefined): string {
  if (matrix === undefined) return section('confusion', 'Confusion matrix', missing('The run recorded no evaluation.'));
  return section(
    'confusion',
    'Confusion matrix',
    `<figure class="chart">${inlineSvg(renderConfusionMatrixSvg(matrix, record.classNames))}</figure>`,
    'Counts of validation images by true class (rows) and predicted class (columns). Shading is the share of the true class.',
  );
}

function perClassSection(metrics: ClassMetrics[] | undefined): string {
  if (metrics === undefined) return section('per-class', 'Per-class metrics', missing('The run recorded no evaluation.'));
  const cell = (v: number | null) => (v === null ? '<td class="num muted" title="undefined: no examples or no predictions">–</td>' : `<td class="num">${v.toFixed(3)}</td>`);
  const rows = metrics.map((m) => `<tr><th scope="row">${escapeHtml(m.className)}</th>${cell(m.precision)}${cell(m.recall)}${cell(m.f1)}<td class="num">${m.support}</td></tr>`).join('');
  const total = metrics.reduce((s, m) => s + m.support, 0);
  const macro = `<tr class="macro"><th scope="row">macro average</th>${cell(macroAverage(metrics, 'precision'))}${cell(macroAverage(metrics, 'recall'))}${cell(macroAverage(metrics, 'f1'))}<td class="num">${total}</td></tr>`;
  const table = `<table class="per-class"><thead><tr><th>class</th><th class="num">precision</th><th class="num">recall</th><th class="num">F1</th><th class="num">support</th></tr></thead><tbody>${rows}${macro}</tbody></table>`;
  return section('per-class', 'Per-class metrics', `<div class="split">${table}<figure class="chart">${inlineSvg(renderClassMetricsSvg(metrics))}</figure></div>`);
}

function imageSection(id: string, title: string, lead: string, png: Buffer | undefined, note: string | undefined): string {
  if (png === undefined) return section(id, title, missing(note ?? 'Not recorded for this run.'));
  return section(id, title, `<figure class="grid"><img alt="${escapeHtml(title)}" src="data:image/png;base64,${png.toString('base64')}"></figure>`, lead);
}

function flatten(value: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  for (const [key, inner] of Object.entries(value)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner) && Object.keys(inner).length > 0) {
      rows.push(...flatten(inner as Record<string, unknown>, name));
    } else {
      rows.push([name, typeof inner === 'string' ? inner : JSON.stringify(inner) ?? String(inner)]);
    }
  }
  return rows;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
