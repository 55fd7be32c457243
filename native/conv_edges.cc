// Convolutions on small maps, where many kernel taps fall on padding: a 3x3 `same` convolution multiplies a
// quarter of its taps by zeros on a 5x5 map (AlexNet8's last three layers), 31% on 4x4 (ResNet18's last
// stage on CIFAR), 56% on 2x2 (VGG16's). The indirect GEMM skips a tap only where every pixel of a tile has it
// in the padding (gemm_micro.inc); in (b, oy, ox) order every tile mixes a map's edges and interior, so it
// never did. Here the GEMM's rows are the pixels grouped by padding class (which kernel rows and columns land
// inside the image), each group filled up to whole tiles with rows of no pixel, the product goes to a scratch
// in that order, and its rows are copied to their pixels. Each pixel's sums are the valid taps in the same
// order as before, less the products with zero: the same values (up to the sign of a zero result, and but for
// an infinite weight on a padded tap, whose NaN no longer comes through).
#include "conv_edges.h"

#include <algorithm>
#include <utility>

#include "conv_panels.h"
#include "threadpool.h"

namespace ck {
namespace {

// The valid kernel positions [lo, hi) along one axis for output coordinate o.
struct Span {
  long lo, hi;
  bool operator==(const Span& s) const { return lo == s.lo && hi == s.hi; }
};

Span validSpan(long o, long stride, long pad, long k, long dil, long in) {
  Span s{k, 0};
  for (long t = 0; t < k; ++t) {
    const long i = o * stride - pad + t * dil;
    if (i < 0 || i >= in) continue;
    s.lo = minl(s.lo, t);
    s.hi = t + 1;
  }
  return s;
}

// The classes along one axis: each distinct span of valid kernel positions, how many output coordinates have
// it and, if cls is given, each coordinate's class (the index of its span). The number of classes, at most
// kMaxClasses; -1 when there are more (not a small map's few edges).
constexpr long kMaxClasses = 64;

long classesAlong(long out, long stride, long pad, long k, long dil, long in, Span* spans, long* counts, long* cls) {
  long count = 0;
  for (long o = 0; o < out; ++o) {
    const Span s = validSpan(o, stride, pad, k, dil, in);
    long c = 0;
    while (c < count && !(spans[c] == s)) ++c;
    if (c == count) {
      if (count == kMaxClasses) return -1;
      spans[count] = s;
      counts[count++] = 0;
    }
    ++counts[c];
    if (cls) cls[o] = c;
  }
  return count;
}

// Below these the grouping costs more (the scratch, the copy back, shorter runs of neighbouring pixels) than
// the taps it skips: a share of the GEMM's tile work (tiles x taps, each class filled up to whole tiles), and
// floats of depth saved per output pixel. Batch 32/128, AVX-512, 3x3 same, forward and input gradient,
// speed-up alternating in one process: 2x2x512 1.40-1.47, 4x4x512 1.16-1.33, 5x5x384 1.24-1.26, 8x8x256
// 1.09-1.21, 8x8x128 1.02-1.05; 8x8x64 1.01-1.05 and 8x8x32 0.94-1.02 (92 and 46 floats saved) are left out,
// as are 16x16 maps (8% of the work) and small batches, whose classes fill few tiles: at batch 1 an 8x8 map's
// corners are one pixel each, a tile apiece (ResNet18's 8x8x256 layers at batch 1 were slower grouped).
constexpr double kMinSavedShare = 0.12;
constexpr double kMinSavedDepth = 128;

// Rows of the GEMM per call (a multiple of every ISA's tile height, 12 and 6), the bound on its scratch of
// products: 6 MiB at 512 outputs, whatever the batch (VGG16's 8x8x256 layers at batch 128 held 8 MiB).
constexpr long kChunkRows = 3072;

}  // namespace

bool edgeClassesPay(const Geom& g) {
  if (g.c < Im2colRows::kMinRun) return false;  // A would be packed, and packed panels skip nothing
  Span sy[kMaxClasses], sx[kMaxClasses];
  long cy[kMaxClasses], cx[kMaxClasses];
  const long ny = classesAlong(g.oh, g.sh, g.padTop, g.kh, g.dh, g.h, sy, cy, nullptr);
  const long nx = classesAlong(g.ow, g.sw, g.padLeft, g.kw, g.dw, g.w, sx, cx, nullptr);
  if (ny < 0 || nx < 0) return false;
  const long mr = gemmKernel().mr, M = g.n * g.oh * g.ow;
  const double plain = static_cast<double>(ceilDiv(M, mr)) * static_cast<double>(g.kh * g.kw);
  double grouped = 0;
  for (long i = 0; i < ny; ++i)
    for (long j = 0; j < nx; ++j)
      grouped += static_cast<double>(ceilDiv(g.n * cy[i] * cx[j], mr)) * static_cast<double>(maxl(0, sy[i].hi - sy[i].lo) * maxl(0, sx[j].hi - sx[j].lo));
  const double savedDepth = (plain - grouped) * static_cast<double>(mr * g.c) / static_cast<double>(M);
  return grouped <= (1.0 - kMinSavedShare) * plain && savedDepth >= kMinSavedDepth;
}

bool edgeClassConv(const float* x, const Geom& g, const Panelizer& w, long n, float* y, long ldy, const Epilogue* ep) {
  const long mr = gemmKernel().mr, K = g.kh * g.kw * g.c, M = g.n * g.oh * g.ow;
  thread_local Scratch clsBuf, orderBuf, outBuf, keyBuf;
  long* cls = static_cast<long*>(clsBuf.bytes(static_cast<size_t>(g.oh + g.ow) * sizeof(long)));
  if (!cls) return false;
  long* clsY = cls;
  long* clsX = cls + g.oh;
  Span spans[kMaxClasses];
  long counts[kMaxClasses];
  const long ny = classesAlong(g.oh, g.sh, g.padTop, g.kh, g.dh, g.h, spans, counts, clsY);
  const long nx = classesAlong(g.ow, g.sw, g.padLeft, g.kw, g.dw, g.w, spans, counts, clsX);
  if (ny < 0 || nx < 0) return false;
  // Tiles: per class (y, x), its pixels in (b, oy, ox) order, the last tile filled up with rows of no pixel.
  // Threads take contiguous rows, and a corner tile costs 4 taps where an interior one costs 9: the classes'
  // tiles are interleaved so that every stretch of rows has each class in proportion (tile i of a class of
  // t goes to position (i + 1/2) / t).
  const long tilesMax = ceilDiv(M, mr) + ny * nx;
  long* order = static_cast<long*>(orderBuf.bytes(static_cast<size_t>(2 * tilesMax * mr) * sizeof(long)));
  float* out = outBuf.floats(static_cast<size_t>(minl(tilesMax * mr, kChunkRows) * n));
  using Key = std::pair<double, long>;  // (position, first row in `grouped`)
  Key* keys = static_cast<Key*>(keyBuf.bytes(static_cast<size_t>(tilesMax) * sizeof(Key)));
  if (!order || !out || !keys) return false;
  long* grouped = order + tilesMax * mr;
  long rows = 0, tilesAll = 0;
  for (long cy = 0; cy < ny; ++cy)
    for (long cx = 0; cx < nx; ++cx) {
      const long first = rows;
      for (long b = 0; b < g.n; ++b)
        for (long oy = 0; oy < g.oh; ++oy) {
          if (clsY[oy] != cy) continue;
          for (long ox = 0; ox < g.ow; ++ox)
            if (clsX[ox] == cx) grouped[rows++] = (b * g.oh + oy) * g.ow + ox;
        }
      while ((rows - first) % mr != 0) grouped[rows++] = -1;
      const long tiles = (rows - first) / mr;
      for (long i = 0; i < tiles; ++i) keys[tilesAll++] = Key((i + 0.5) / static_cast<double>(tiles), first + i * mr);
    }
  std::sort(keys, keys + tilesAll);  // ties by first row: the order is a function of the shape
  for (long t = 0; t < tilesAll; ++t) std::memcpy(order + t * mr, grouped + keys[t].second, static_cast<size_t>(mr) * sizeof(long));
  const float* zero = zeros(static_cast<size_t>(g.c));
  if (!zero) return false;
  // The residual addend is indexed by pixel: added after the copy back, with the activation.
  const Epilogue inGemm = ep && ep->addend ? Epilogue{ep->bias, Act::Linear} : ep ? *ep : Epilogue{nullptr, Act::Linear};
  // A chunk of rows at a time, so that the scratch stays bounded whatever the batch.
  for (long c0 = 0; c0 < rows; c0 += kChunkRows) {
    const long c1 = minl(rows, c0 + kChunkRows);
    if (!gemm(Im2colRows(x, g, zero, order + c0), w, c1 - c0, n, K, out, n, false, ep ? &inGemm : nullptr)) return false;
    parallel(threadsFor((c1 - c0) * n, 1 << 14), [&](int tid, int nt) {
      long r0, r1;
      splitRange(c1 - c0, nt, tid, &r0, &r1);
      for (long r = r0; r < r1; ++r)
        if (order[c0 + r] >= 0) std::memcpy(y + order[c0 + r] * ldy, out + r * n, static_cast<size_t>(n) * sizeof(float));
    });
  }
  if (ep && ep->addend) {
    const Epilogue after{nullptr, ep->act, ep->addend, ep->ldAdd};
    parallel(threadsFor(M * n, 1 << 14), [&](int tid, int nt) {
      long r0, r1;
      splitRange(M, nt, tid, &r0, &r1);
      if (r1 > r0) applyEpilogue(after.rows(r0), y + r0 * ldy, ldy, r1 - r0, 0, n);
    });
  }
  return true;
}

}  // namespace ck
