import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

import { Resvg, initWasm } from '@resvg/resvg-wasm';

/**
 * SVG -> PNG with resvg compiled to WebAssembly (the .wasm ships inside the npm package, so nothing is
 * downloaded at install and no native binary is loaded). Text uses DejaVu Sans, matplotlib's default
 * font, read from the `dejavu-fonts-ttf` package: resvg is given no system fonts, so a machine without
 * any installed font renders the same picture as one with many.
 */

/** The family name the SVG asks for; it must match the name inside the TTF we load. */
export const FONT_FAMILY = 'DejaVu Sans';

const require = createRequire(import.meta.url);

interface Renderer {
  fonts: Uint8Array[];
}

let renderer: Promise<Renderer> | undefined;

/** Loads the wasm module and the font once per process (initWasm refuses a second call). */
function loadRenderer(): Promise<Renderer> {
  renderer ??= (async () => {
    const [wasm, regular, bold] = await Promise.all([
      readFile(require.resolve('@resvg/resvg-wasm/index_bg.wasm')),
      readFile(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf')),
      readFile(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf')),
    ]);
    await initWasm(wasm);
    return { fonts: [new Uint8Array(regular), new Uint8Array(bold)] };
  })();
  // A failed load must not poison later calls forever (e.g. a transient read error).
  renderer.catch(() => {
    renderer = undefined;
  });
  return renderer;
}

/** Rasterises an SVG document at its own width and height onto a white background. */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const { fonts } = await loadRenderer();
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'original' },
    font: {
      fontBuffers: fonts,
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
  });
  try {
    const image = resvg.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}
