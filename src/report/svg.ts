/** Small helpers shared by every hand-written SVG in the report. */

export const FONT_FAMILY = "'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif";

/** Colors chosen to stay distinguishable for common colour-vision deficiencies. */
export const PALETTE = {
  text: '#1d2330',
  muted: '#5b6475',
  grid: '#e3e6ec',
  axis: '#9aa2b1',
  train: '#1f4fd1',
  validation: '#e0762b',
  right: '#1f4fd1',
  wrong: '#d11f2a',
  precision: '#1f4fd1',
  recall: '#e0762b',
  f1: '#2a9d6f',
} as const;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * Rough width of a string in DejaVu Sans. Used only to give long titles enough room; DejaVu is
 * wide, so 0.62em per character errs on the generous side.
 */
export function estimateTextWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.62;
}

/** Numbers in SVG attributes: short, and never exponent notation. */
export function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/\.?0+$/, '');
}

export function svgDocument(width: number, height: number, body: string, title?: string): string {
  const w = fmt(width);
  const h = fmt(height);
  const label = title === undefined ? '' : ` role="img" aria-label="${escapeXml(title)}"`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"${label} ` +
    `font-family="${escapeXml(FONT_FAMILY)}">` +
    (title === undefined ? '' : `<title>${escapeXml(title)}</title>`) +
    body +
    `</svg>`
  );
}
