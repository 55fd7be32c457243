// The convolution's GEMM operands read straight from the tensors (conv.cc): im2col rows (A of the forward
// pass and of the transposed-convolution input gradient; packed, or located in place for the indirect
// microkernel), im2col columns (B of the filter gradient) and the spatially flipped kernel (B of the
// transposed convolution). Included by conv.cc and conv_edges.cc only.
#pragma once

#include "gemm.h"
#include "interleave.h"

namespace ck {

constexpr int kMaxPanelWidth = 32;  // widest panel of any ISA (avx512 NR)

// col as A of the forward pass: rows are output pixels, depth is (ky, kx, ci). With `order`, row r is output
// pixel order[r] (b * oh * ow + oy * ow + ox), or no pixel when that is negative (all padding): conv_edges.cc
// groups the pixels that share their padded taps.
struct Im2colRows final : Panelizer {
  const float* x;     // x: [n, h, w, c]
  const Geom& g;
  const float* zero;  // at least c zeros, read for padded taps
  const long* order;
  Im2colRows(const float* x_, const Geom& g_, const float* z, const long* order_ = nullptr)
      : x(x_), g(g_), zero(z), order(order_) {}

  // Row r's output pixel (its input window's corner and image), false for a row of padding.
  bool pixel(long r, long* iy0, long* ix0, const float** img) const {
    const long pix = order ? order[r] : r;
    if (pix < 0) return false;
    const long ox = pix % g.ow, t = pix / g.ow, oy = t % g.oh, b = t / g.oh;
    *iy0 = oy * g.sh - g.padTop;
    *ix0 = ox * g.sw - g.padLeft;
    *img = x + b * g.h * g.w * g.c;
    return true;
  }

  void pack(float* dst, long r0, long rows, long d0, long depth, int width) const override {
    const long C = g.c;
    for (long q = 0; q < rows; q += width, dst += depth * width) {
      const long real = minl(width, rows - q);
      long iy0[kMaxPanelWidth], ix0[kMaxPanelWidth];
      const float* img[kMaxPanelWidth];
      for (long i = 0; i < real; ++i)
        if (!pixel(r0 + q + i, iy0 + i, ix0 + i, img + i)) img[i] = nullptr;
      for (long d = d0; d < d0 + depth;) {
        const long tap = d / C, ci = d - tap * C, run = minl(C - ci, d0 + depth - d);
        const long dy = (tap / g.kw) * g.dh, dx = (tap % g.kw) * g.dw;
        const float* src[kMaxPanelWidth];
        for (long i = 0; i < width; ++i) {
          src[i] = zero;
          if (i >= real || !img[i]) continue;
          const long iy = iy0[i] + dy, ix = ix0[i] + dx;
          if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) src[i] = img[i] + (iy * g.w + ix) * C + ci;
        }
        interleaveRows(dst + (d - d0) * width, src, run, width);
        d += run;
      }
    }
  }

  // Read in place: one segment per kernel tap (a pixel's channels of one tap are contiguous in x). Channels
  // of fewer than kMinRun would make segments too short to pay for the pointer set-up; those pack.
  static constexpr long kMinRun = 16, kMaxSegs = 32;
  long tapsSpanned(long d0, long depth) const { return (d0 + depth - 1) / g.c - d0 / g.c + 1; }

  long segments(long d0, long depth, long maxSegs, long uses) const override {
    // Whatever the number of column panels: the im2col gather costs more than the re-reads it saves (level
    // or better for every ResNet18 width, 64 to 512 outputs; A/B).
    (void)uses;
    if (g.c < kMinRun) return 0;
    const long n = tapsSpanned(d0, depth);
    return n <= minl(maxSegs, kMaxSegs) ? n : 0;
  }

  // `zeroRun` (the caller's, at least `depth` zeros) rather than the member `zero` (c zeros): the interface's.
  void locate(const float** ptrs, long* lens, long r0, long rows, long d0, long depth, int width,
              const float* zeroRun) const override {
    const long C = g.c, nseg = tapsSpanned(d0, depth);  // segments() allowed it: at most kMaxSegs
    long tapY[kMaxSegs], tapX[kMaxSegs], tapC[kMaxSegs];  // a segment's tap offset and first channel
    for (long d = d0, s = 0; s < nseg; ++s) {
      const long tap = d / C, next = minl((tap + 1) * C, d0 + depth);
      tapY[s] = (tap / g.kw) * g.dh;
      tapX[s] = (tap % g.kw) * g.dw;
      tapC[s] = d - tap * C;
      lens[s] = next - d;
      d = next;
    }
    // Without an order, output pixels are consecutive rows of col: step (b, oy, ox) instead of dividing per row.
    long ox = r0 % g.ow, oy = (r0 / g.ow) % g.oh, b = r0 / (g.ow * g.oh);
    const long panels = ceilDiv(rows, width);
    for (long i = 0; i < panels * width; ++i) {
      const float** out = ptrs + (i / width) * nseg * width + i % width;
      long iy0 = oy * g.sh - g.padTop, ix0 = ox * g.sw - g.padLeft;
      const float* img = x + b * g.h * g.w * C;
      if (i >= rows || (order && !pixel(r0 + i, &iy0, &ix0, &img))) {
        for (long s = 0; s < nseg; ++s) out[s * width] = zeroRun;
        continue;
      }
      for (long s = 0; s < nseg; ++s) {
        const long iy = iy0 + tapY[s], ix = ix0 + tapX[s];
        out[s * width] = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? img + (iy * g.w + ix) * C + tapC[s] : zeroRun;
      }
      if (++ox == g.ow) {
        ox = 0;
        if (++oy == g.oh) {
          oy = 0;
          ++b;
        }
      }
    }
  }
};

// col^T, rows (ky, kx, ci) and depth output pixels: B of the filter gradient.
struct Im2colCols final : Panelizer {
  const float* x;  // x: [n, h, w, c]
  const Geom& g;
  Im2colCols(const float* x_, const Geom& g_) : x(x_), g(g_) {}

  // Consecutive channels [ci, ci + len) of one tap, at offset `off` of the panel.
  struct Run {
    long off, len, dy, dx, ci;
  };

  // An output pixel, stepped through the depth range.
  struct Pixel {
    long b, oy, ox;
    void step(const Geom& g, long k) {
      ox += k;
      if (ox < g.ow) return;
      ox = 0;
      if (++oy == g.oh) {
        oy = 0;
        ++b;
      }
    }
  };

  void pack(float* dst, long r0, long rows, long d0, long depth, int width) const override {
    const long C = g.c;
    for (long q = 0; q < rows; q += width, dst += depth * width) {
      const long real = minl(width, rows - q);
      Run runs[kMaxPanelWidth];
      int nruns = 0;
      for (long p = r0 + q; p < r0 + q + real;) {
        const long tap = p / C, ci = p - tap * C, len = minl(C - ci, r0 + q + real - p);
        runs[nruns++] = Run{p - r0 - q, len, (tap / g.kw) * g.dh, (tap % g.kw) * g.dw, ci};
        p += len;
      }
      const Pixel start{d0 / (g.oh * g.ow), (d0 / g.ow) % g.oh, d0 % g.ow};
      if (nruns == 1 && real == width) packOneRun(dst, runs[0], start, depth, width);
      else packRuns(dst, runs, nruns, real, start, depth, width);
    }
  }

  // Packing this B gathers a run of x per pixel and tap, so reading it in place pays for more rows of C than a
  // plain matrix does (gemm.h, kMaxRowsBInPlace): on Zen 5, in one process alternating builds, the 3x3 filter
  // gradients of 32x32x32x64 -> 64 7.0 -> 6.1-6.2 ms, 128x32x32x64 27.8 -> 24.6, 32x16x16x128 -> 128 6.2 -> 5.85.
  long inPlaceRows() const override { return 128; }

  // In place when every panel is `width` channels of one tap (c a multiple of the width): a pixel's part of
  // the panel is then one run of x, or padding. Pixels go by segments of one output row.
  bool locateColumns(const float** ptrs, long r0, long rows, long d0, long depth, int width,
                     const float* zero) const override {
    const long C = g.c;
    if (C % width != 0 || r0 % width != 0 || rows % width != 0) return false;
    for (long q = r0; q < r0 + rows; q += width, ptrs += depth) {
      const long tap = q / C, ci = q - tap * C, ty = (tap / g.kw) * g.dh, tx = (tap % g.kw) * g.dw;
      Pixel px{d0 / (g.oh * g.ow), (d0 / g.ow) % g.oh, d0 % g.ow};
      for (long dd = 0; dd < depth;) {
        const long seg = minl(depth - dd, g.ow - px.ox);
        const long iy = px.oy * g.sh - g.padTop + ty;
        if (iy < 0 || iy >= g.h) {
          for (long k = 0; k < seg; ++k) ptrs[dd + k] = zero;
        } else {
          const float* rowBase = x + ((px.b * g.h + iy) * g.w) * C + ci;
          for (long k = 0; k < seg; ++k) {
            const long ix = (px.ox + k) * g.sw - g.padLeft + tx;
            ptrs[dd + k] = ix >= 0 && ix < g.w ? rowBase + ix * C : zero;
          }
        }
        dd += seg;
        px.step(g, seg);
      }
    }
    return true;
  }

  // The common case (c a multiple of the panel width): a pixel's part of the panel is one copy. Pixels go
  // by segments of one output row, so the input row is looked up once per segment.
  void packOneRun(float* dst, const Run& run, Pixel px, long depth, int width) const {
    const long C = g.c;
    for (long dd = 0; dd < depth;) {
      const long seg = minl(depth - dd, g.ow - px.ox);
      const long iy = px.oy * g.sh - g.padTop + run.dy;
      float* out = dst + dd * width;
      if (iy < 0 || iy >= g.h) {
        std::memset(out, 0, static_cast<size_t>(seg * width) * sizeof(float));
      } else {
        const float* rowBase = x + ((px.b * g.h + iy) * g.w) * C + run.ci;
        for (long k = 0; k < seg; ++k, out += width) {
          const long ix = (px.ox + k) * g.sw - g.padLeft + run.dx;
          copyRun(out, ix >= 0 && ix < g.w ? rowBase + ix * C : nullptr, width);
        }
      }
      dd += seg;
      px.step(g, seg);
    }
  }

  // Any panel: several runs (several taps, or c not a multiple of the width), zero rows past `real`.
  void packRuns(float* dst, const Run* runs, int nruns, long real, Pixel px, long depth, int width) const {
    const long C = g.c;
    for (long dd = 0; dd < depth; ++dd, px.step(g, 1)) {
      float* out = dst + dd * width;
      const float* img = x + px.b * g.h * g.w * C;
      const long iyb = px.oy * g.sh - g.padTop, ixb = px.ox * g.sw - g.padLeft;
      for (int r = 0; r < nruns; ++r) {
        const Run& run = runs[r];
        const long iy = iyb + run.dy, ix = ixb + run.dx;
        if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
          const float* src = img + (iy * g.w + ix) * C + run.ci;
          for (long l = 0; l < run.len; ++l) out[run.off + l] = src[l];
        } else {
          for (long l = 0; l < run.len; ++l) out[run.off + l] = 0.0f;
        }
      }
      for (long i = real; i < width; ++i) out[i] = 0.0f;
    }
  }
};

// w' as B of the transposed convolution, read straight from w: row ci, depth (tap, co) is
// w[taps-1-tap][ci][co]. Within one tap the rows are outC apart and the depth is contiguous, so a full panel
// is the same interleave as a plain B^T. (Materialising w' first was a single-threaded strided transpose of
// the whole kernel on every call: ~15% of the backward pass of a 512-channel layer.)
struct FlippedKernelPanels final : Panelizer {
  const float* w;  // [kh, kw, c, outC]
  long taps, c, outC;
  FlippedKernelPanels(const float* w_, const Geom& g) : w(w_), taps(g.kh * g.kw), c(g.c), outC(g.outC) {}

  void pack(float* dst, long r0, long rows, long d0, long depth, int width) const override {
    for (long q = 0; q < rows; q += width, dst += depth * width) {
      const long real = minl(width, rows - q);
      for (long d = d0; d < d0 + depth;) {
        const long tap = d / outC, co = d - tap * outC, run = minl(outC - co, d0 + depth - d);
        const float* base = w + ((taps - 1 - tap) * c + r0 + q) * outC + co;
        float* out = dst + (d - d0) * width;
        if (real == width && width <= kMaxPanelWidth) {
          const float* src[kMaxPanelWidth];
          for (int i = 0; i < width; ++i) src[i] = base + i * outC;
          interleaveRows(out, src, run, width);
        } else {
          for (long e = 0; e < run; ++e) {
            for (long i = 0; i < real; ++i) out[e * width + i] = base[i * outC + e];
            for (long i = real; i < width; ++i) out[e * width + i] = 0.0f;
          }
        }
        d += run;
      }
    }
  }
};

}  // namespace ck
