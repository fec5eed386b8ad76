import { linearScale, niceTicks } from './scale.js';
import { PALETTE, escapeXml, fmt, svgDocument } from './svg.js';

const WIDTH = 640;
const HEIGHT = 380;
const MARGIN = { top: 44, right: 24, bottom: 50, left: 64 };

/** Loss against learning rate (log axis, a tick per power of ten), the suggested rate marked, like fastai's `plot_lr_find`. */
export function renderLrFindSvg(learningRates: readonly number[], losses: readonly number[], suggestion: number): string {
  if (learningRates.length < 2) throw new Error('a learning-rate plot needs at least two points');
  const logs = learningRates.map(Math.log10);
  const [left, right, top, bottom] = [MARGIN.left, WIDTH - MARGIN.right, MARGIN.top, HEIGHT - MARGIN.bottom];
  const firstPower = Math.ceil(Math.min(...logs));
  const powers = Array.from({ length: Math.floor(Math.max(...logs)) - firstPower + 1 }, (_, i) => firstPower + i);
  const x = linearScale([Math.min(...logs), Math.max(...logs)], [left, right], powers);
  const finite = losses.filter(Number.isFinite);
  const yTicks = niceTicks(Math.min(...finite), Math.max(...finite), 5);
  const y = linearScale([yTicks.min, yTicks.max], [bottom, top], yTicks.ticks);
  const parts: string[] = [`<rect width="100%" height="100%" fill="#ffffff"/>`];
  parts.push(`<text x="${fmt(left)}" y="24" font-size="15" font-weight="bold" fill="${PALETTE.text}">Learning-rate finder: smoothed loss</text>`);
  for (const tick of yTicks.ticks) {
    parts.push(`<line x1="${fmt(left)}" x2="${fmt(right)}" y1="${fmt(y(tick))}" y2="${fmt(y(tick))}" stroke="${PALETTE.grid}"/>`);
    parts.push(`<text x="${fmt(left - 8)}" y="${fmt(y(tick))}" dy="4" text-anchor="end" font-size="11" fill="${PALETTE.muted}">${tick}</text>`);
  }
  for (const power of powers) {
    parts.push(`<line x1="${fmt(x(power))}" x2="${fmt(x(power))}" y1="${fmt(bottom)}" y2="${fmt(bottom + 5)}" stroke="${PALETTE.axis}"/>`);
    parts.push(`<text x="${fmt(x(power))}" y="${fmt(bottom + 18)}" text-anchor="middle" font-size="11" fill="${PALETTE.muted}">1e${power}</text>`);
  }
  parts.push(`<line x1="${fmt(left)}" x2="${fmt(right)}" y1="${fmt(bottom)}" y2="${fmt(bottom)}" stroke="${PALETTE.axis}"/>`);
  parts.push(`<text x="${fmt((left + right) / 2)}" y="${fmt(HEIGHT - 10)}" text-anchor="middle" font-size="12" fill="${PALETTE.muted}">learning rate (log scale)</text>`);
  const path = logs.map((lx, i) => (Number.isFinite(losses[i]!) ? `${i === 0 ? 'M' : 'L'}${fmt(x(lx))} ${fmt(y(losses[i]!))}` : '')).filter(Boolean).join(' ');
  parts.push(`<path d="${path}" fill="none" stroke="${PALETTE.train}" stroke-width="2.25" stroke-linejoin="round"/>`);
  const at = learningRates.findIndex((lr) => lr >= suggestion);
  const sx = x(Math.log10(suggestion));
  parts.push(`<line x1="${fmt(sx)}" x2="${fmt(sx)}" y1="${fmt(top)}" y2="${fmt(bottom)}" stroke="${PALETTE.validation}" stroke-dasharray="6 4" stroke-width="1.5"/>`);
  if (at >= 0 && Number.isFinite(losses[at]!)) parts.push(`<circle cx="${fmt(sx)}" cy="${fmt(y(losses[at]!))}" r="5" fill="${PALETTE.validation}"/>`);
  parts.push(`<text x="${fmt(Math.min(sx + 6, right - 150))}" y="${fmt(top + 14)}" font-size="12" fill="${PALETTE.text}">${escapeXml(`suggested ${suggestion.toExponential(2)}`)}</text>`);
  return svgDocument(WIDTH, HEIGHT, parts.join(''), 'Learning-rate finder: smoothed training loss against the learning rate');
}
