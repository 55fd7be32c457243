// Pooling over NHWC, vectorised over channels. Padded positions are skipped, not zero: they never win a
// max, and an average divides by the number of real positions (TensorFlow's rule for `same`).
//
// The average pool's backward pass gathers instead of scattering: each thread owns whole rows of dx and adds
// the windows that touch a row in (oy, ox) order, the order in which the reference scatters. Max pooling
// (pool_max.inc) walks whole images instead. Either way results are independent of the thread count and need
// no atomics.
#include <cmath>

#include "isa.h"
#include "kernels.h"
#include "threadpool.h"

#define CK_ISA_FILE "pool_max.inc"
#define CK_ISA_PREFIX pool
#include "per_isa.inc"

namespace ck {
namespace {

constexpr long kGrain = 1 << 14;  // values per thread
// Taps per thread of the max pool's forward pass: about 35 us of work. Waking a pool thread that has gone to
// sleep cost 0.3-0.4 ms per call on a shared 2-core machine (Inception10's batch-1 pools: 1x16x16x64 3x3
// same 0.36 ms with 2 threads, 0.03 ms with 1), so pools smaller than this run on the calling thread.
constexpr long kMaxForwardGrain = 1 << 18;

// Calls body(r0, r1) on a share of the `rows` rows of an image batch (rows = n * height).
template <class F>
void forRows(long rows, long valuesPerRow, F&& body, long grain = kGrain) {
  parallel(threadsFor(rows * valuesPerRow, grain), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    if (r0 < r1) body(r0, r1);
  });
}

// Real rows of the window of output row oy: [*y0, *y1).
inline void windowRows(const Geom& g, long oy, long* y0, long* y1) {
  const long top = oy * g.sh - g.padTop;
  *y0 = maxl(top, 0);
  *y1 = minl(top + g.kh, g.h);
}

inline void windowCols(const Geom& g, long ox, long* x0, long* x1) {
  const long left = ox * g.sw - g.padLeft;
  *x0 = maxl(left, 0);
  *x1 = minl(left + g.kw, g.w);
}

// Output rows oy whose windows contain input row iy: [*o0, *o1).
inline void rowsTouching(const Geom& g, long iy, long* o0, long* o1) {
  const long lo = iy + g.padTop - g.kh + 1;  // oy * sh >= lo
  *o0 = lo <= 0 ? 0 : ceilDiv(lo, g.sh);
  *o1 = minl(g.oh, (iy + g.padTop) / g.sh + 1);
}

}  // namespace

// The walk max and average pooling share: for each output pixel, start(out), then add(out, in) for every real
// input pixel of its window, then finish(out, count). Templates, so the per-value work is inlined.
template <class Start, class Add, class Finish>
void forEachWindow(const float* x, float* y, const Geom& g, Start start, Add add, Finish finish) {
  const long C = g.c;
  forRows(g.n * g.oh, g.ow * C * g.kh * g.kw, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r) {
      const long b = r / g.oh, oy = r % g.oh;
      long y0, y1;
      windowRows(g, oy, &y0, &y1);
      for (long ox = 0; ox < g.ow; ++ox) {
        float* out = y + (r * g.ow + ox) * C;
        long x0, x1;
        windowCols(g, ox, &x0, &x1);
        start(out, C);
        for (long iy = y0; iy < y1; ++iy)
          for (long ix = x0; ix < x1; ++ix) add(out, x + ((b * g.h + iy) * g.w + ix) * C, C);
        finish(out, C, (y1 - y0) * (x1 - x0));
      }
    }
  });
}

// Max pooling: one copy per ISA (pool_max.inc). Work items are (image, channel block); blocks are cut only
// when there are too few images to keep every thread busy. Channels never interact, so any split gives the
// same numbers.
namespace {

using MaxItemsFn = void (*)(const float*, const float*, float*, const Geom&, long, long, long, bool);
using MaxRowsFn = void (*)(const float*, float*, const Geom&, long, long);

struct MaxKernel {
  int width;
  MaxItemsFn items;
  MaxRowsFn rows;
};

MaxKernel maxKernel() {
#if CK_HAVE_X86_VARIANTS
  switch (activeIsa()) {
    case Isa::Avx512: return {pool_avx512::W, pool_avx512::maxItems, pool_avx512::maxRows};
    case Isa::Avx2: return {pool_avx2::W, pool_avx2::maxItems, pool_avx2::maxRows};
    default: break;
  }
#endif
  return {pool_portable::W, pool_portable::maxItems, pool_portable::maxRows};
}

void runMax(const float* x, const float* dy, float* out, const Geom& g, bool back) {
  const MaxKernel k = maxKernel();
  const int nt = threadsFor(g.n * g.oh * g.ow * g.c * g.kh * g.kw, kGrain);
  const long wantBlocks = ceilDiv(4L * nt, g.n);
  const long cb = maxl(k.width, ceilDiv(ceilDiv(g.c, wantBlocks), k.width) * k.width);
  const long items = g.n * ceilDiv(g.c, cb);
  parallel(nt, [&](int tid, int n) {
    long i0, i1;
    splitRange(items, n, tid, &i0, &i1);
    if (i0 < i1) k.items(x, dy, out, g, i0, i1, cb, back);
  });
}

}  // namespace

// y: [n, oh, ow, c]; x: [n, h, w, c]
void maxPool(const float* x, float* y, const Geom& g) {
  const MaxRowsFn rows = maxKernel().rows;
  forRows(g.n * g.oh, g.ow * g.c * g.kh * g.kw, [&](long r0, long r1) { rows(x, y, g, r0, r1); }, kMaxForwardGrain);
}

// dx: [n, h, w, c], written in full.
bool maxPoolBackward(const float* x, const float* dy, float* dx, const Geom& g) {
  runMax(x, dy, dx, g, true);
  return true;
}

// Divides by the number of real (unpadded) pixels of each window, as TensorFlow does.
void avgPool(const float* x, float* y, const Geom& g) {
  forEachWindow(
      x, y, g, [](float* __restrict out, long C) { for (long ci = 0; ci < C; ++ci) out[ci] = 0.0f; },
      [](float* __restrict out, const float* __restrict in, long C) { for (long ci = 0; ci < C; ++ci) out[ci] += in[ci]; },
      [](float* __restrict out, long C, long count) {
        const float n = static_cast<float>(count);
        for (long ci = 0; ci < C; ++ci) out[ci] /= n;
      });
}

// dx[iy, ix] = sum over windows (oy, ox) holding (iy, ix) of dy[oy, ox] / count(oy, ox).
void avgPoolBackward(const float* dy, float* dx, const Geom& g) {
  const long C = g.c;
  forRows(g.n * g.h, g.w * C * g.kh, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r) {
      const long b = r / g.h, iy = r % g.h;
      float* __restrict row = dx + r * g.w * C;
      std::memset(row, 0, static_cast<size_t>(g.w * C) * sizeof(float));
      long o0, o1;
      rowsTouching(g, iy, &o0, &o1);
      for (long oy = o0; oy < o1; ++oy) {
        long y0, y1;
        windowRows(g, oy, &y0, &y1);
        for (long ox = 0; ox < g.ow; ++ox) {
          long x0, x1;
          windowCols(g, ox, &x0, &x1);
          if (x0 >= x1) continue;
          const float count = static_cast<float>((y1 - y0) * (x1 - x0));
          const float* __restrict d = dy + ((b * g.oh + oy) * g.ow + ox) * C;
          for (long ix = x0; ix < x1; ++ix) {
            float* __restrict out = row + ix * C;
            for (long ci = 0; ci < C; ++ci) out[ci] += d[ci] / count;
          }
        }
      }
    }
  });
}

// Global pools over x [n, hw, c] -> [n, c]. Sums accumulate in float in pixel order, exactly as the reference.
void globalAvgPool(const float* x, float* y, long n, long hw, long c) {
  forRows(n, hw * c, [&](long b0, long b1) {
    for (long b = b0; b < b1; ++b) {
      float* __restrict out = y + b * c;
      for (long ci = 0; ci < c; ++ci) out[ci] = 0.0f;
      for (long p = 0; p < hw; ++p)
        for (long ci = 0; ci < c; ++ci) out[ci] += x[(b * hw + p) * c + ci];
      for (long ci = 0; ci < c; ++ci) out[ci] /= static_cast<float>(hw);
    }
  });
}

void globalAvgPoolBackward(const float* dy, float* dx, long n, long hw, long c) {
  forRows(n, hw * c, [&](long b0, long b1) {
    for (long b = b0; b < b1; ++b) {
      // One quotient per channel, then plain row copies, inline (a division per value, not vectorised for
      // fear of dx aliasing dy, made this a 2.5 ms pass over 4 MB; a memcpy call per pixel was not much better).
      float* __restrict first = dx + b * hw * c;
      for (long ci = 0; ci < c; ++ci) first[ci] = dy[b * c + ci] / static_cast<float>(hw);
      for (long p = 1; p < hw; ++p) {
        float* __restrict row = first + p * c;
        for (long ci = 0; ci < c; ++ci) row[ci] = first[ci];
      }
    }
  });
}

void globalMaxPool(const float* x, float* y, long n, long hw, long c) {
  forRows(n, hw * c, [&](long b0, long b1) {
    for (long b = b0; b < b1; ++b) {
      float* __restrict out = y + b * c;
      for (long ci = 0; ci < c; ++ci) out[ci] = -INFINITY;
      for (long p = 0; p < hw; ++p) {
        const float* __restrict in = x + (b * hw + p) * c;
        for (long ci = 0; ci < c; ++ci) out[ci] = in[ci] > out[ci] ? in[ci] : out[ci];
      }
    }
  });
}

// dy of each (image, channel) goes to its first maximal pixel.
void globalMaxPoolBackward(const float* x, const float* dy, float* dx, long n, long hw, long c) {
  forRows(n, hw * c, [&](long b0, long b1) {
    std::memset(dx + b0 * hw * c, 0, static_cast<size_t>((b1 - b0) * hw * c) * sizeof(float));
    for (long b = b0; b < b1; ++b) {
      for (long ci = 0; ci < c; ++ci) {
        float best = -INFINITY;
        long arg = -1;
        for (long p = 0; p < hw; ++p) {
          const float v = x[(b * hw + p) * c + ci];
          if (v > best) {
            best = v;
            arg = p;
          }
        }
        if (arg >= 0) dx[(b * hw + arg) * c + ci] += dy[b * c + ci];
      }
    }
  });
}

}  // namespace ck
