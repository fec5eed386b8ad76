import type { ClassMetrics } from './metrics.js';
import { PALETTE, escapeXml, estimateTextWidth, fmt, svgDocument } from './svg.js';

const BAR = 9;
const GROUP_GAP = 12;

/** Precision, recall and F1 per class as grouped horizontal bars on a shared 0-1 axis. */
export function renderClassMetricsSvg(metrics: readonly ClassMetrics[]): string {
  if (metrics.length === 0) throw new Error('per-class metrics need at least one class');
  const keys = [
    { key: 'precision', label: 'precision', color: PALETTE.precision },
    { key: 'recall', label: 'recall', color: PALETTE.recall },
    { key: 'f1', label: 'F1', color: PALETTE.f1 },
  ] as const;
  const longestName = Math.max(...metrics.map((m) => estimateTextWidth(m.className, 12)));
  const left = Math.ceil(longestName + 20);
  const plotWidth = 320;
  const right = left + plotWidth;
  const top = 44;
  const groupHeight = keys.length * BAR + GROUP_GAP;
  const bottom = top + metrics.length * groupHeight;
  const width = right + 56;
  const height = bottom + 40;
  const x = (value: number) => left + value * plotWidth;

  const parts: string[] = [`<rect width="100%" height="100%" fill="#ffffff"/>`];
  for (let t = 0; t <= 10; t += 2) {
    const px = fmt(x(t / 10));
    parts.push(
      `<line x1="${px}" x2="${px}" y1="${top - 4}" y2="${fmt(bottom)}" stroke="${PALETTE.grid}" stroke-width="1"/>`,
      `<text x="${px}" y="${fmt(bottom + 16)}" text-anchor="middle" font-size="11" fill="${PALETTE.muted}">${(t / 10).toFixed(1)}</text>`,
    );
  }
  metrics.forEach((m, i) => {
    const groupTop = top + i * groupHeight + GROUP_GAP / 2;
    parts.push(
      `<text x="${fmt(left - 8)}" y="${fmt(groupTop + (keys.length * BAR) / 2)}" dy="4" text-anchor="end" font-size="12" fill="${PALETTE.text}">${escapeXml(m.className)}</text>`,
    );
    keys.forEach(({ key, label, color }, k) => {
      const value = m[key];
      const y = groupTop + k * BAR;
      if (value === null) {
        parts.push(`<text x="${fmt(left + 4)}" y="${fmt(y + BAR - 1)}" font-size="9" fill="${PALETTE.muted}">${label} undefined</text>`);
        return;
      }
      parts.push(
        `<rect x="${fmt(left)}" y="${fmt(y)}" width="${fmt(Math.max(0.5, value * plotWidth))}" height="${BAR - 1}" fill="${color}">` +
          `<title>${escapeXml(m.className)} ${label}: ${value.toFixed(3)}</title></rect>`,
      );
    });
    const f1 = m.f1;
    if (f1 !== null) {
      parts.push(`<text x="${fmt(x(1) + 6)}" y="${fmt(groupTop + 2 * BAR + BAR - 2)}" font-size="10" fill="${PALETTE.muted}">F1 ${f1.toFixed(2)}</text>`);
    }
  });
  parts.push(`<line x1="${fmt(left)}" x2="${fmt(left)}" y1="${top - 4}" y2="${fmt(bottom)}" stroke="${PALETTE.axis}" stroke-width="1"/>`);
  let cursor = left;
  for (const { label, color } of keys) {
    parts.push(
      `<rect x="${fmt(cursor)}" y="16" width="14" height="10" fill="${color}"/>`,
      `<text x="${fmt(cursor + 20)}" y="25" font-size="12" fill="${PALETTE.text}">${label}</text>`,
    );
    cursor += 20 + estimateTextWidth(label, 12) + 18;
  }
  return svgDocument(width, height, parts.join(''), 'Per-class precision, recall and F1');
}
