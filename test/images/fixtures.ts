/** A w x h RGBA gradient for image tests: red along x, green along y, blue constant, alpha varying. */
export function gradient(w: number, h: number): Uint8Array {
  const d = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      d.set([Math.round((255 * x) / Math.max(1, w - 1)), Math.round((255 * y) / Math.max(1, h - 1)), 200, (x * 37) % 256], i);
    }
  }
  return d;
}
