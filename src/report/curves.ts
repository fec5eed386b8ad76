import type { EpochRecord } from './run-record.js';
import { formatTick, linearScale, niceTicks, type LinearScale } from './scale.js';
import { PALETTE, escapeXml, fmt, svgDocument } from './svg.js';

interface Series {
  label: string;
  color: string;
  dashed: boolean;
  points: Array<[number, number]>;
}

const PANEL_WIDTH = 440;
const PANEL_HEIGHT = 300;
const MARGIN = { top: 40, right: 18, bottom: 46, left: 58 };

/**
 * Loss and accuracy per epoch, train and validation, as two side-by-side panels. Validation lines
 * are dashed so the pair stays apart without relying on colour.
 */
export function renderTrainingCurvesSvg(history: readonly EpochRecord[]): string {
  if (history.length === 0) throw new Error('training curves need at least one epoch of history');
  const loss: Series[] = [
    series('train', PALETTE.train, false, history, (e) => e.trainLoss),
    series('validation', PALETTE.validation, true, history, (e) => e.valLoss),
  ].filter((s) => s.points.length > 0);
  const accuracy: Series[] = [
    series('train', PALETTE.train, false, history, (e) => (e.trainAccuracy === undefined ? undefined : e.trainAccuracy * 100)),
    series('validation', PALETTE.validation, true, history, (e) => e.valAccuracy * 100),
  ].filter((s) => s.points.length > 0);
  const body =
    panel('Loss', 'loss', loss, 0, { floorAtZero: true }) +
    panel('Accuracy', 'accuracy (%)', accuracy, PANEL_WIDTH, { ceiling: 100 });
  return svgDocument(PANEL_WIDTH * 2, PANEL_HEIGHT, `<rect width="100%" height="100%" fill="#ffffff"/>${body}`, 'Training curves: loss and accuracy per epoch');
}

function series(
  label: string,
  color: string,
  dashed: boolean,
  history: readonly EpochRecord[],
  pick: (entry: EpochRecord) => number | undefined,
): Series {
  const points: Array<[number, number]> = [];
  for (const entry of history) {
    const value = pick(entry);
    if (value !== undefined) points.push([entry.epoch, value]);
  }
  return { label, color, dashed, points };
}

function panel(title: string, yLabel: string, lines: Series[], offsetX: number, limits: { floorAtZero?: boolean; ceiling?: number }): string {
  const all = lines.flatMap((s) => s.points);
  const epochs = all.map(([x]) => x);
  const values = all.map(([, y]) => y);
  const left = offsetX + MARGIN.left;
  const right = offsetX + PANEL_WIDTH - MARGIN.right;
  const top = MARGIN.top;
  const bottom = PANEL_HEIGHT - MARGIN.bottom;

  const xMin = Math.min(...epochs);
  const xMax = Math.max(...epochs);
  const xTicksRaw = niceTicks(xMin, xMax, Math.min(8, Math.max(1, xMax - xMin)));
  const xTicks = xTicksRaw.ticks.filter((t) => Number.isInteger(t) && t >= xMin && t <= xMax);
  const xDomain: [number, number] = xMin === xMax ? [xMin - 1, xMax + 1] : [xMin, xMax];
  const x = linearScale(xDomain, [left + 8, right - 8], xMin === xMax ? [xMin] : xTicks);

  let yMin = Math.min(...values);
  let yMax = Math.max(...values);
  const pad = (yMax - yMin) * 0.08 || Math.abs(yMax) * 0.05 || 1;
  yMin -= pad;
  yMax += pad;
  if (limits.floorAtZero && yMin < 0 && Math.min(...values) >= 0) yMin = 0;
  if (limits.ceiling !== undefined && yMax > limits.ceiling && Math.max(...values) <= limits.ceiling) yMax = limits.ceiling;
  const yTicks = niceTicks(yMin, yMax, 5);
  const y = linearScale([yTicks.min, yTicks.max], [bottom, top], yTicks.ticks);

  const parts: string[] = [];
  parts.push(`<text x="${fmt(left)}" y="22" font-size="15" font-weight="bold" fill="${PALETTE.text}">${escapeXml(title)}</text>`);
  parts.push(axes(x, y, left, right, top, bottom));
  parts.push(
    `<text x="${fmt((left + right) / 2)}" y="${fmt(PANEL_HEIGHT - 8)}" text-anchor="middle" font-size="12" fill="${PALETTE.muted}">epoch</text>`,
    `<text transform="translate(${fmt(offsetX + 14)} ${fmt((top + bottom) / 2)}) rotate(-90)" text-anchor="middle" font-size="12" fill="${PALETTE.muted}">${escapeXml(yLabel)}</text>`,
  );
  for (const line of lines) {
    const path = line.points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${fmt(x(px))} ${fmt(y(py))}`).join(' ');
    parts.push(
      `<path d="${path}" fill="none" stroke="${line.color}" stroke-width="2.25" stroke-linejoin="round"${line.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    for (const [px, py] of line.points) {
      parts.push(`<circle cx="${fmt(x(px))}" cy="${fmt(y(py))}" r="3.2" fill="#ffffff" stroke="${line.color}" stroke-width="2"/>`);
    }
  }
  parts.push(legend(lines, right, 14));
  return `<g class="panel">${parts.join('')}</g>`;
}

function axes(x: LinearScale, y: LinearScale, left: number, right: number, top: number, bottom: number): string {
  const parts: string[] = [];
  const yStep = y.ticks.length > 1 ? y.ticks[1]! - y.ticks[0]! : 1;
  for (const tick of y.ticks) {
    const py = fmt(y(tick));
    parts.push(
      `<line x1="${fmt(left)}" x2="${fmt(right)}" y1="${py}" y2="${py}" stroke="${PALETTE.grid}" stroke-width="1"/>`,
      `<text x="${fmt(left - 8)}" y="${py}" dy="4" text-anchor="end" font-size="11" fill="${PALETTE.muted}">${formatTick(tick, yStep)}</text>`,
    );
  }
  for (const tick of x.ticks) {
    const px = fmt(x(tick));
    parts.push(
      `<line x1="${px}" x2="${px}" y1="${fmt(bottom)}" y2="${fmt(bottom + 5)}" stroke="${PALETTE.axis}" stroke-width="1"/>`,
      `<text x="${px}" y="${fmt(bottom + 18)}" text-anchor="middle" font-size="11" fill="${PALETTE.muted}">${tick}</text>`,
    );
  }
  parts.push(`<line x1="${fmt(left)}" x2="${fmt(right)}" y1="${fmt(bottom)}" y2="${fmt(bottom)}" stroke="${PALETTE.axis}" stroke-width="1"/>`);
  return parts.join('');
}

function legend(lines: Series[], right: number, top: number): string {
  const parts: string[] = [];
  let cursor = right;
  for (const line of [...lines].reverse()) {
    const textWidth = line.label.length * 7;
    cursor -= textWidth;
    parts.push(`<text x="${fmt(cursor)}" y="${fmt(top + 8)}" font-size="12" fill="${PALETTE.text}">${escapeXml(line.label)}</text>`);
    cursor -= 28;
    parts.push(
      `<line x1="${fmt(cursor)}" x2="${fmt(cursor + 22)}" y1="${fmt(top + 4)}" y2="${fmt(top + 4)}" stroke="${line.color}" stroke-width="2.25"${line.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    cursor -= 14;
  }
  return parts.join('');
}
