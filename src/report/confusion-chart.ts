import { PALETTE, escapeXml, estimateTextWidth, fmt, svgDocument } from './svg.js';

/**
 * A confusion matrix heat map: rows are the true class, columns the prediction, each cell shows its
 * count. Shading is by the share of the true class (row), so a rare class's mistakes stay visible.
 */
export function renderConfusionMatrixSvg(matrix: readonly (readonly number[])[], classNames: readonly string[]): string {
  const n = matrix.length;
  if (n === 0 || classNames.length !== n || matrix.some((row) => row.length !== n)) {
    throw new Error(`the confusion matrix must be ${classNames.length} x ${classNames.length} (one row and column per class)`);
  }
  const cell = Math.max(34, Math.min(72, Math.floor(560 / n)));
  const fontSize = cell >= 48 ? 14 : 12;
  const labelFont = 12;
  const longestName = Math.max(...classNames.map((name) => estimateTextWidth(name, labelFont)));
  const left = 48 + longestName + 10;
  // Column labels are turned 45 degrees, so they need height of about their width / sqrt(2).
  const top = 40;
  const gridSize = cell * n;
  const bottom = top + gridSize;
  const labelDrop = longestName * Math.SQRT1_2 + 16;
  const width = Math.ceil(left + gridSize + Math.max(24, labelDrop * 0.75));
  const height = Math.ceil(bottom + labelDrop + 8);
  const parts: string[] = [`<rect width="100%" height="100%" fill="#ffffff"/>`];

  for (let r = 0; r < n; r++) {
    const row = matrix[r]!;
    const rowTotal = row.reduce((a, b) => a + b, 0);
    for (let c = 0; c < n; c++) {
      const count = row[c]!;
      const share = rowTotal === 0 ? 0 : count / rowTotal;
      const x = left + c * cell;
      const y = top + r * cell;
      const fill = r === c ? mix('#ffffff', '#1f4fd1', share) : mix('#ffffff', '#d11f2a', Math.min(1, share * 1.6));
      const ink = share > 0.55 ? '#ffffff' : count === 0 ? '#b3b9c4' : PALETTE.text;
      parts.push(
        `<rect x="${fmt(x)}" y="${fmt(y)}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ffffff" stroke-width="1.5">` +
          `<title>true ${escapeXml(classNames[r]!)}, predicted ${escapeXml(classNames[c]!)}: ${count} (${(share * 100).toFixed(1)}% of the class)</title></rect>`,
        `<text x="${fmt(x + cell / 2)}" y="${fmt(y + cell / 2)}" dy="${fmt(fontSize * 0.35)}" text-anchor="middle" font-size="${fontSize}" fill="${ink}"${r === c ? ' font-weight="bold"' : ''}>${count}</text>`,
      );
    }
    parts.push(
      `<text x="${fmt(left - 8)}" y="${fmt(top + r * cell + cell / 2)}" dy="4" text-anchor="end" font-size="${labelFont}" fill="${PALETTE.text}">${escapeXml(classNames[r]!)}</text>`,
    );
  }
  for (let c = 0; c < n; c++) {
    const x = left + c * cell + cell / 2;
    parts.push(
      `<text transform="translate(${fmt(x + 4)} ${fmt(bottom + 10)}) rotate(-45)" text-anchor="end" font-size="${labelFont}" fill="${PALETTE.text}">${escapeXml(classNames[c]!)}</text>`,
    );
  }
  parts.push(
    `<text x="${fmt(left + gridSize / 2)}" y="24" text-anchor="middle" font-size="13" font-weight="bold" fill="${PALETTE.muted}">predicted class</text>`,
    `<text transform="translate(20 ${fmt(top + gridSize / 2)}) rotate(-90)" text-anchor="middle" font-size="13" font-weight="bold" fill="${PALETTE.muted}">true class</text>`,
  );
  return svgDocument(width, height, parts.join(''), 'Confusion matrix');
}

/** Linear blend of two #rrggbb colours; t = 0 gives `from`. */
function mix(from: string, to: string, t: number): string {
  const a = parseHex(from);
  const b = parseHex(to);
  const channel = (i: number) => Math.round(a[i]! + (b[i]! - a[i]!) * t).toString(16).padStart(2, '0');
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

function parseHex(color: string): number[] {
  return [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
}
