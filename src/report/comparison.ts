import type { ComparisonRow } from './run-record.js';

export interface JudgedComparisonRow extends ComparisonRow {
  /** Accuracy minus the baseline's, when there is a baseline. */
  deltaFromBaseline: number | null;
  isBest: boolean;
  /** True for rows that did worse than training from scratch: negative transfer. */
  belowBaseline: boolean;
  isBaselineRow: boolean;
}

/**
 * Marks the best method and, against the baseline (explicit `isBaseline`, else the first method
 * whose name mentions "scratch"), every method that fell below it.
 */
export function judgeComparison(rows: readonly ComparisonRow[]): { rows: JudgedComparisonRow[]; baseline: ComparisonRow | undefined } {
  const baseline = rows.find((r) => r.isBaseline === true) ?? rows.find((r) => /scratch/i.test(r.method));
  const best = Math.max(...rows.map((r) => r.accuracy));
  return {
    baseline,
    rows: rows.map((row) => ({
      ...row,
      isBaselineRow: row === baseline,
      isBest: row.accuracy === best,
      deltaFromBaseline: baseline === undefined || row === baseline ? null : row.accuracy - baseline.accuracy,
      belowBaseline: baseline !== undefined && row !== baseline && row.accuracy < baseline.accuracy,
    })),
  };
}
