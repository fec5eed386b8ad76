import sharp from 'sharp';
import { denormalizeToRgb } from './denormalize.js';
import { svgToPng } from './rasterize.js';
import { PALETTE, escapeXml, estimateTextWidth, fmt, svgDocument } from './svg.js';

export interface ImageGridOptions {
  /** Normalized CHW images; only the first rows * cols are drawn. */
  images: Float32Array[];
  shape: [number, number, number];
  /** Per-channel mean and std on the 0-255 scale (one value applies to every channel). */
  mean: number[];
  std: number[];
  /** One title per image; `\n` starts a new line. */
  titles: string[];
  /** One CSS colour per image; the default is dark gray. */
  titleColors?: string[];
  rows: number;
  cols: number;
  /** Side of the square box each image is fitted into, in pixels (default 160). */
  cellSize?: number;
}

export interface PredictionGridOptions {
  images: Float32Array[];
  shape: [number, number, number];
  mean: number[];
  std: number[];
  predicted: number[];
  actual: number[];
  classNames: string[];
  rows: number;
  cols: number;
  cellSize?: number;
}

const TITLE_FONT_SIZE = 14;
const TITLE_LINE_HEIGHT = 18;
const OUTER_PADDING = 12;
const GAP = 12;
const DEFAULT_TITLE_COLOR = PALETTE.text;

/** Colours of the tutorial's prediction grid: blue when the prediction is right, red when wrong. */
export const RIGHT_COLOR = PALETTE.right;
export const WRONG_COLOR = PALETTE.wrong;

/**
 * Lays out images under their titles, like matplotlib's subplot grid in the tutorial, as one SVG
 * document with each image embedded as a PNG data URI.
 */
export async function renderImageGridSvg(options: ImageGridOptions): Promise<string> {
  const { images, shape, mean, std, titles, titleColors, rows, cols } = options;
  const cellSize = options.cellSize ?? 160;
  checkGridArguments(options, cellSize);
  const count = Math.min(images.length, rows * cols);
  const drawnTitles = titles.slice(0, count).map((title) => title.split('\n'));
  const longestLine = Math.max(0, ...drawnTitles.flat().map((line) => estimateTextWidth(line, TITLE_FONT_SIZE)));
  const cellWidth = Math.ceil(Math.max(cellSize, longestLine + 8));
  const titleLines = Math.max(1, ...drawnTitles.map((lines) => lines.length));
  const titleBand = titleLines * TITLE_LINE_HEIGHT + 6;
  const cellHeight = titleBand + cellSize;
  const usedRows = Math.ceil(count / cols);
  const width = OUTER_PADDING * 2 + cols * cellWidth + (cols - 1) * GAP;
  const height = OUTER_PADDING * 2 + usedRows * cellHeight + (usedRows - 1) * GAP;

  const [, imageHeight, imageWidth] = shape;
  const { drawWidth, drawHeight, kernel } = fitImage(imageWidth, imageHeight, cellSize);
  const encoded = await Promise.all(
    images.slice(0, count).map((image) => encodePng(denormalizeToRgb(image, shape, mean, std), imageWidth, imageHeight, drawWidth, drawHeight, kernel)),
  );

  const parts: string[] = [`<rect width="100%" height="100%" fill="#ffffff"/>`];
  for (let index = 0; index < count; index++) {
    const left = OUTER_PADDING + (index % cols) * (cellWidth + GAP);
    const top = OUTER_PADDING + Math.floor(index / cols) * (cellHeight + GAP);
    const centerX = left + cellWidth / 2;
    const color = titleColors?.[index] ?? DEFAULT_TITLE_COLOR;
    const lines = drawnTitles[index]!;
    // Lines hug the image: a one-line title in a band sized for two sits just above the picture.
    const firstBaseline = top + titleBand - 6 - (lines.length - 1) * TITLE_LINE_HEIGHT - 4;
    const tspans = lines
      .map((line, i) => `<tspan x="${fmt(centerX)}" y="${fmt(firstBaseline + i * TITLE_LINE_HEIGHT)}">${escapeXml(line)}</tspan>`)
      .join('');
    parts.push(
      `<text text-anchor="middle" font-size="${TITLE_FONT_SIZE}" fill="${escapeXml(color)}">${tspans}</text>`,
    );
    const imageLeft = left + (cellWidth - drawWidth) / 2;
    const imageTop = top + titleBand + (cellSize - drawHeight) / 2;
    parts.push(
      `<image x="${fmt(imageLeft)}" y="${fmt(imageTop)}" width="${drawWidth}" height="${drawHeight}" ` +
        `style="image-rendering:pixelated" preserveAspectRatio="none" ` +
        `href="data:image/png;base64,${encoded[index]!.toString('base64')}"/>`,
      `<rect x="${fmt(imageLeft - 0.5)}" y="${fmt(imageTop - 0.5)}" width="${drawWidth + 1}" height="${drawHeight + 1}" fill="none" stroke="#cfd4dc" stroke-width="1"/>`,
    );
  }
  return svgDocument(width, height, parts.join(''), 'image grid');
}

/** The grid as PNG bytes, rasterized with the bundled DejaVu Sans. */
export async function renderImageGrid(options: ImageGridOptions): Promise<Buffer> {
  return svgToPng(await renderImageGridSvg(options), { background: '#ffffff' });
}

/** Titles and colours of the tutorial's validation grid: `predict:<class>`, blue if right, red if wrong. */
export function predictionTitles(
  predicted: readonly number[],
  actual: readonly number[],
  classNames: readonly string[],
): { titles: string[]; titleColors: string[] } {
  if (predicted.length !== actual.length) {
    throw new Error(`predicted has ${predicted.length} labels but actual has ${actual.length}`);
  }
  const titles = predicted.map((label) => `predict:${className(classNames, label)}`);
  const titleColors = predicted.map((label, i) => (label === actual[i] ? RIGHT_COLOR : WRONG_COLOR));
  return { titles, titleColors };
}

export async function renderPredictionGridSvg(options: PredictionGridOptions): Promise<string> {
  const { predicted, actual, classNames, ...grid } = options;
  if (predicted.length !== grid.images.length) {
    throw new Error(`predicted has ${predicted.length} labels for ${grid.images.length} images`);
  }
  return renderImageGridSvg({ ...grid, ...predictionTitles(predicted, actual, classNames) });
}

export async function renderPredictionGrid(options: PredictionGridOptions): Promise<Buffer> {
  return svgToPng(await renderPredictionGridSvg(options), { background: '#ffffff' });
}

export function className(classNames: readonly string[], label: number): string {
  const name = classNames[label];
  if (name === undefined) throw new Error(`label ${label} has no class name (there are ${classNames.length} classes)`);
  return name;
}

/**
 * Small images are enlarged by a whole factor with nearest neighbour so every source pixel stays a
 * crisp square; large ones are shrunk smoothly to fit the cell.
 */
function fitImage(width: number, height: number, cellSize: number): { drawWidth: number; drawHeight: number; kernel: 'nearest' | 'lanczos3' } {
  const longest = Math.max(width, height);
  if (longest <= cellSize) {
    const factor = Math.max(1, Math.floor(cellSize / longest));
    return { drawWidth: width * factor, drawHeight: height * factor, kernel: 'nearest' };
  }
  const scale = cellSize / longest;
  return {
    drawWidth: Math.max(1, Math.round(width * scale)),
    drawHeight: Math.max(1, Math.round(height * scale)),
    kernel: 'lanczos3',
  };
}

async function encodePng(
  rgb: Uint8Array,
  width: number,
  height: number,
  drawWidth: number,
  drawHeight: number,
  kernel: 'nearest' | 'lanczos3',
): Promise<Buffer> {
  let pipeline = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } });
  if (drawWidth !== width || drawHeight !== height) {
    pipeline = pipeline.resize(drawWidth, drawHeight, { kernel, fit: 'fill' });
  }
  return pipeline.png().toBuffer();
}

function checkGridArguments(options: ImageGridOptions, cellSize: number): void {
  const { images, titles, titleColors, rows, cols } = options;
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1) {
    throw new Error(`grid rows and cols must be positive integers, got rows=${rows} cols=${cols}`);
  }
  if (!Number.isInteger(cellSize) || cellSize < 8) {
    throw new Error(`cellSize must be an integer of at least 8 pixels, got ${cellSize}`);
  }
  if (images.length === 0) throw new Error('the image grid needs at least one image');
  if (titles.length !== images.length) {
    throw new Error(`the image grid got ${images.length} images but ${titles.length} titles`);
  }
  if (titleColors !== undefined && titleColors.length !== images.length) {
    throw new Error(`the image grid got ${images.length} images but ${titleColors.length} title colours`);
  }
}
