import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Resvg } from '@resvg/resvg-js';

let fontFilesCache: string[] | undefined;

/**
 * The bundled DejaVu fonts: loading them explicitly (and no system fonts) makes text render the
 * same on a fresh machine with no fonts installed as on a desktop.
 */
export function reportFontFiles(): string[] {
  if (fontFilesCache === undefined) {
    const require = createRequire(import.meta.url);
    const packageDir = path.dirname(require.resolve('dejavu-fonts-ttf/package.json'));
    fontFilesCache = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((name) => path.join(packageDir, 'ttf', name));
  }
  return fontFilesCache;
}

export interface RasterizeOptions {
  /** CSS colour behind the drawing; transparent when omitted. */
  background?: string;
  /** Scale factor; 2 gives crisp output on high-density screens. */
  zoom?: number;
}

/** Renders an SVG document to PNG bytes with resvg. */
export function svgToPng(svg: string, options: RasterizeOptions = {}): Buffer {
  const renderer = new Resvg(svg, {
    font: {
      loadSystemFonts: false,
      fontFiles: reportFontFiles(),
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
    background: options.background,
    fitTo: options.zoom === undefined ? { mode: 'original' } : { mode: 'zoom', value: options.zoom },
    logLevel: 'off',
  });
  return renderer.render().asPng();
}
