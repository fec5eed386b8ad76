/** Reports: image grids, charts, metrics, the run directory format and the HTML report. */
export { renderImageGrid, renderImageGridSvg, renderPredictionGrid, renderPredictionGridSvg, predictionTitles, RIGHT_COLOR, WRONG_COLOR } from './grid.js';
export type { ImageGridOptions, PredictionGridOptions } from './grid.js';
export { denormalizeToRgb } from './denormalize.js';
export { svgToPng } from './rasterize.js';
export { renderTrainingCurvesSvg } from './curves.js';
export { renderConfusionMatrixSvg } from './confusion-chart.js';
export { renderClassMetricsSvg } from './class-metrics-chart.js';
export { accuracy, confusionMatrix, perClassMetrics, macroAverage, mostConfidentMistakes } from './metrics.js';
export type { ClassMetrics, ConfidentMistake } from './metrics.js';
export { judgeComparison } from './comparison.js';
export type { JudgedComparisonRow } from './comparison.js';
export {
  RUN_RECORD_FILE,
  PREVIEW_PNG,
  PREDICTIONS_PNG,
  readRunRecord,
  writeRunRecord,
  validateRunRecord,
  readRunImages,
  writeRunImages,
} from './run-record.js';
export type { RunRecord, EpochRecord, ComparisonRow, EvaluationRecord, RunImages } from './run-record.js';
export { writeReport, renderReportHtml, DEFAULT_REPORT_FILE } from './write-report.js';
export { writeSyntheticRun } from './synthetic-run.js';
export { startDashboard } from './dashboard.js';
export type { Dashboard, DashboardOptions } from './dashboard.js';
