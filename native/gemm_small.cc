// The small-M GEMM driver. The main GEMM (gemm.cc) is built for many rows of C: it packs each B block once
// per thread that uses it and tiles rows by 12 (avx512). With a handful of rows (a batch-1 convolution on a
// 4x4 map: M = 16; a dense layer: M = 1) the packed B is used by one or two tiles, so packing it cost as much
// as the product, both threads packed all of it, and 16 rows ran as 12 + 12 (4 real). Here:
//   - A (m x k, small) is packed once, in SMR-row panels, by all threads;
//   - B is streamed in place once: threads own blocks of SNR columns, blocked by KC depth steps so that a
//     KC x SNR block of B stays in L1 while every row panel of A passes over it;
//   - row tails and column tails get tiles of exactly their size (template R x NV, gemm_small.inc);
//   - with few column blocks the depth is split too, into segments fixed by the shape whose partials are
//     added in segment order, so that every thread has work at any thread count.
#include "gemm_small.h"

#include <atomic>
#include <utility>

#include "isa.h"
#include "threadpool.h"

#define CK_ISA_FILE "gemm_small.inc"
#define CK_ISA_PREFIX small
#include "per_isa.inc"

namespace ck {
namespace {

using TileFn = void (*)(long, const float*, const float*, long, float*, float*, long, long, bool);
using TileFnFor = TileFn (*)(int rows, int nv, int mode);
using MatvecFn = void (*)(const float*, const float*, long, long, long, float*);
using StreamFn = void (*)(const float*, long, const float*, long, long, long, float*, long);
using ColTileFn = void (*)(long, const float*, long, const float*, long, float*, long, long, bool);
enum Mode { kStream, kStreamCopy, kCopied };  // gemm_small.inc

struct SmallKernel {
  int width, mr, nv;  // floats per vector, rows and vectors of the largest tile
  TileFnFor tile;
  MatvecFn matvec;
  StreamFn stream;
  ColTileFn (*colTile)(int rows);
  int (*colVectors)(int rows);
  int colMaxRows, colPanelRows;  // one panel up to colMaxRows rows, else panels of at most colPanelRows
};

SmallKernel smallKernel() {
#if CK_HAVE_X86_VARIANTS
  switch (activeIsa()) {
    case Isa::Avx512: return {small_avx512::W, small_avx512::SMR, small_avx512::SNV, small_avx512::smallTileFn, small_avx512::smallMatvec, small_avx512::smallRowsStream, small_avx512::colTileFn, small_avx512::colVectors, small_avx512::kColMaxRows, small_avx512::kColPanelRows};
    case Isa::Avx2: return {small_avx2::W, small_avx2::SMR, small_avx2::SNV, small_avx2::smallTileFn, small_avx2::smallMatvec, small_avx2::smallRowsStream, small_avx2::colTileFn, small_avx2::colVectors, small_avx2::kColMaxRows, small_avx2::kColPanelRows};
    default: break;
  }
#endif
  return {small_portable::W, small_portable::SMR, small_portable::SNV, small_portable::smallTileFn, small_portable::smallMatvec, small_portable::smallRowsStream, small_portable::colTileFn, small_portable::colVectors, small_portable::kColMaxRows, small_portable::kColPanelRows};
}

// A block of KC x NB floats of B (32 KiB) stays in L1 across the row panels.
constexpr long kBlockFloats = 8192;
// Work units (column blocks x depth segments) to aim for; a depth segment is at least kMinSegment deep.
constexpr long kUnits = 16, kMinSegment = 256;

// Depth segments: a function of the shape only (never of the thread count). None for products too small
// to be shared among threads at all (threadsFor below gives them one), where partials would only cost.
long segmentsFor(long m, long n, long k, long colBlocks) {
  if (static_cast<double>(m) * n * k < 8e5) return 1;
  return maxl(1, minl(k / kMinSegment, ceilDiv(kUnits, colBlocks)));
}

// c [m, n] (row stride ldc) += partials 1, 2, ... (segments - 1 of them, each [m, n]) in segment order, then
// the epilogue. Threads own column ranges, so each value's additions keep the shape's order.
void addPartials(float* c, long ldc, const float* partials, long m, long n, long segments, const Epilogue* ep) {
  parallel(threadsFor(m * n * segments, 1 << 14), [&](int tid, int nt) {
    long j0, j1;
    splitRange(n, nt, tid, &j0, &j1);
    if (j0 >= j1) return;
    for (long i = 0; i < m; ++i) {
      float* __restrict ci = c + i * ldc;
      for (long s = 1; s < segments; ++s) {
        const float* __restrict p = partials + (s - 1) * m * n + i * n;
        for (long j = j0; j < j1; ++j) ci[j] += p[j];
      }
    }
    if (ep) applyEpilogue(*ep, c, ldc, m, j0, j1);
  });
}

// Work unit u of (depth segments x column blocks of `width`): its columns [j0, j0 + cols), depth [k0, k1) in equal
// blocks of at most kcMax (as gemm.cc: 300 as 2 x 150, not 128 + 128 + 44), and where its sums go: C for
// segment 0, else that segment's partial product ([m, n]).
struct Unit {
  long j0, cols, k0, k1, kcEven;
  float* cs;
  long lds;
};

Unit unitOf(long u, long colBlocks, long width, long m, long n, long k, long segments, long kcMax, float* c, long ldc,
            float* partials) {
  Unit t;
  const long s = u / colBlocks;
  t.j0 = (u % colBlocks) * width;
  t.cols = minl(width, n - t.j0);
  t.cs = s == 0 ? c + t.j0 : partials + (s - 1) * m * n + t.j0;
  t.lds = s == 0 ? ldc : n;
  splitRange(k, segments, s, &t.k0, &t.k1);
  t.kcEven = ceilDiv(t.k1 - t.k0, ceilDiv(t.k1 - t.k0, kcMax));
  return t;
}

}  // namespace

// One row of C: depth segments of whole B rows (fixed by the shape: k / 256, at most 8), each summed into its
// own partial row by smallMatvec, then added in segment order; threads take whole segments.
static bool matvec(const SmallKernel& sk, const Panelizer& a, const float* b, long ldb, long n, long k, float* c,
            const Epilogue* ep) {
  thread_local Scratch rowBuf, partialBuf;
  float* x = rowBuf.floats(static_cast<size_t>(k));
  const long segments = maxl(1, minl(8, k / 256));
  float* partials = segments > 1 ? partialBuf.floats(static_cast<size_t>((segments - 1) * n)) : nullptr;
  if (!x || (segments > 1 && !partials)) return false;
  a.pack(x, 0, 1, 0, k, 1);
  parallel(threadsFor(n * k, 1 << 15), [&](int tid, int nt) {
    long s0, s1;
    splitRange(segments, nt, tid, &s0, &s1);
    for (long s = s0; s < s1; ++s) {
      long p0, p1;
      splitRange(k, segments, s, &p0, &p1);
      float* y = s == 0 ? c : partials + (s - 1) * n;
      std::memset(y, 0, static_cast<size_t>(n) * sizeof(float));
      sk.matvec(x + p0, b + p0 * ldb, ldb, p1 - p0, n, y);
    }
  });
  addPartials(c, n, partials, 1, n, segments, ep);
  return true;
}

// Up to this many rows of C, B's rows are streamed whole (smallRowsStream); above, C's tiles stay in registers
// and B is read in column blocks (smallTile).
constexpr long kStreamRows = 16;

// The same depth segments as matvec, for m <= kStreamRows rows of C (rows ldc apart; partials n apart).
static bool streamRows(const SmallKernel& sk, const Panelizer& a, const float* b, long ldb, long m, long n, long k,
                       float* c, long ldc, const Epilogue* ep) {
  thread_local Scratch packBuf, partialBuf;
  float* ap = packBuf.floats(static_cast<size_t>(k * m));  // [k][m]
  const long segments = maxl(1, minl(8, k / 256));
  float* partials = segments > 1 ? partialBuf.floats(static_cast<size_t>((segments - 1) * m * n)) : nullptr;
  if (!ap || (segments > 1 && !partials)) return false;
  a.pack(ap, 0, m, 0, k, static_cast<int>(m));
  parallel(threadsFor(m * n * k / 4, 1 << 15), [&](int tid, int nt) {
    long s0, s1;
    splitRange(segments, nt, tid, &s0, &s1);
    for (long s = s0; s < s1; ++s) {
      long p0, p1;
      splitRange(k, segments, s, &p0, &p1);
      float* y = s == 0 ? c : partials + (s - 1) * m * n;
      const long ldy = s == 0 ? ldc : n;
      for (long i = 0; i < m; ++i) std::memset(y + i * ldy, 0, static_cast<size_t>(n) * sizeof(float));
      sk.stream(ap + p0 * m, m, b + p0 * ldb, ldb, p1 - p0, n, y, ldy);
    }
  });
  addPartials(c, ldc, partials, m, n, segments, ep);
  return true;
}

// The column stream's depth block: a panel's slice of packed A (kColDepth x at most 16 floats, 16 KiB) stays in
// L1 while the column blocks pass over it.
constexpr long kColDepth = 256;

// B packed for the column stream: [vectors][k][W], vector j of columns down all k rows as one contiguous run,
// zero-padded past column n to whole work units of 4 vectors (a tile reads all the vectors of its block).
static long colPackedSize(const SmallKernel& sk, long n, long k) { return ceilDiv(n, 4L * sk.width) * 4 * k * sk.width; }

// 2..48 rows against B packed by smallPack: A packed once per panel (avx512: one of up to 16 rows, else panels
// of at most 13, so 25 = 13 + 12 and 48 = 4 x 12; 12 with 16 vector registers), B's column blocks of 4 vectors owned
// by threads, each block down a depth block once per panel (from memory for the first panel, from L2 after),
// the tile's sums in registers (colTile). Depth segments as in gemmSmallM below, fixed by the shape.
static bool columnStream(const SmallKernel& sk, const Panelizer& a, const float* bp, long m, long n, long k,
                         float* c, long ldc, const Epilogue* ep) {
  const long ub = 4L * sk.width;  // columns per work unit: every panel's vector count divides 4
  const long colBlocks = ceilDiv(n, ub), segments = segmentsFor(m, n, k, colBlocks);
  const long panels = m <= sk.colMaxRows ? 1 : ceilDiv(m, sk.colPanelRows);
  thread_local Scratch packBuf, partialBuf;
  float* ap = packBuf.floats(static_cast<size_t>(k * m));
  float* partials = segments > 1 ? partialBuf.floats(static_cast<size_t>((segments - 1) * m * n)) : nullptr;
  if (!ap || (segments > 1 && !partials)) return false;
  // Panel q (rows [r0, r1)) packed at ap + k * r0 as [k][r1 - r0].
  for (long q = 0; q < panels; ++q) {
    long r0, r1;
    splitRange(m, panels, q, &r0, &r1);
    a.pack(ap + k * r0, r0, r1 - r0, 0, k, static_cast<int>(r1 - r0));
  }

  const long units = colBlocks * segments, vstride = k * sk.width;
  parallel(threadsFor(static_cast<long>(static_cast<double>(m) * n * k / 1e5), 4), [&](int tid, int nt) {
    long u0, u1;
    splitRange(units, nt, tid, &u0, &u1);
    for (long u = u0; u < u1; ++u) {
      const Unit t = unitOf(u, colBlocks, ub, m, n, k, segments, kColDepth, c, ldc, partials);
      const long j0 = t.j0, cols = t.cols, k0 = t.k0, k1 = t.k1, kcEven = t.kcEven, lds = t.lds;
      float* cs = t.cs;
      for (long kk = k0; kk < k1; kk += kcEven) {
        const long kc = minl(kcEven, k1 - kk);
        for (long q = 0; q < panels; ++q) {
          long r0, r1;
          splitRange(m, panels, q, &r0, &r1);
          const int rows = static_cast<int>(r1 - r0);
          const auto tile = sk.colTile(rows);
          const long w = sk.colVectors(rows) * sk.width;
          for (long j = 0; j < cols; j += w)
            tile(kc, ap + k * r0 + kk * rows, rows, bp + ((j0 + j) / sk.width) * vstride + kk * sk.width, vstride,
                 cs + r0 * lds + j, lds, minl(w, cols - j), kk > k0);
        }
      }
      if (ep && segments == 1) applyEpilogue(*ep, c, ldc, m, j0, j0 + cols);
    }
  });
  if (segments > 1) addPartials(c, ldc, partials, m, n, segments, ep);
  return true;
}

// With B packed ahead (an inference plan's weights), 2..48 rows take the column stream: against the paths
// below, which read B as it is, CPU time of one thread at batch 1 (A/B): 4x4x512 -> 512 3x3 (M = 16) 1.3 ->
// 0.8 ms, 8x8x256 -> 512 stride 2 (M = 16) 0.77 -> 0.46, 7x7x1024 -> 1024 1x1 (M = 49) 1.58 -> 1.28, 2x2x512
// -> 512 (M = 4, memory-bound) 0.65 -> 0.54; M = 32 level. Read in place, the same stream was 2-3x slower
// than the paths below: B's rows 2 KiB apart put every row on another page. From 49 rows the main GEMM on
// the packed panels does as well or better (2 threads, in the plans: 8x8 maps at batch 1, M = 64, 8-20%
// faster; 7x7, M = 49, level), so a plan packs those for it (gemmPack).
long smallPackedSize(long m, long n, long k) { return m >= 2 && m <= 48 ? colPackedSize(smallKernel(), n, k) : 0; }

void smallPack(const float* b, long ldb, long n, long k, float* dst) {
  const long w = smallKernel().width;
  for (long j0 = 0; j0 < ceilDiv(n, 4 * w) * 4 * w; j0 += w) {
    const long real = maxl(0, minl(w, n - j0));
    for (long p = 0; p < k; ++p, dst += w) {
      if (real > 0) std::memcpy(dst, b + p * ldb + j0, static_cast<size_t>(real) * sizeof(float));
      for (long j = real; j < w; ++j) dst[j] = 0.0f;
    }
  }
}

// Up to 64 rows: at 64 (8x8x256 -> 256 3x3) level with the main GEMM, below that 1.3-2.6x faster (CPU time,
// one thread, A/B). The weights stream at memory bandwidth whatever M, so past that the arithmetic decides,
// and the main GEMM's 12 x 32 tile does more of it per B load than 6 x 64.
bool smallMFits(long m, long n, long k) {
  (void)n, (void)k;
  return m <= 64;
}

bool gemmSmallM(const Panelizer& a, const float* b, long ldb, long m, long n, long k, float* c, long ldc,
                const Epilogue* ep, const float* packed) {
  if (m <= 0 || n <= 0) return true;
  if (k <= 0) {
    for (long i = 0; i < m; ++i) std::memset(c + i * ldc, 0, n * sizeof(float));
    if (ep) applyEpilogue(*ep, c, ldc, m, 0, n);
    return true;
  }
  const SmallKernel sk = smallKernel();
  if (packed && smallPackedSize(m, n, k) > 0) return columnStream(sk, a, packed, m, n, k, c, ldc, ep);
  if (m == 1) return matvec(sk, a, b, ldb, n, k, c, ep);
  if (m <= kStreamRows) return streamRows(sk, a, b, ldb, m, n, k, c, ldc, ep);
  const long nb = static_cast<long>(sk.nv) * sk.width, mr = sk.mr;
  const long kcMax = kBlockFloats / nb;
  const long colBlocks = ceilDiv(n, nb), segments = segmentsFor(m, n, k, colBlocks);
  const long panels = ceilDiv(m, mr);

  thread_local Scratch packBuf, partialBuf;
  float* packA = packBuf.floats(static_cast<size_t>(panels * k * mr));  // [panels][k][mr]
  float* partials = segments > 1 ? partialBuf.floats(static_cast<size_t>((segments - 1) * m * n)) : nullptr;
  if (!packA || (segments > 1 && !partials)) return false;

  parallel(threadsFor(panels * k * mr, 1 << 14), [&](int tid, int nt) {
    long q0, q1;
    splitRange(panels, nt, tid, &q0, &q1);
    for (long q = q0; q < q1; ++q) a.pack(packA + q * k * mr, q * mr, minl(mr, m - q * mr), 0, k, static_cast<int>(mr));
  });

  std::atomic<bool> ok{true};
  const long units = colBlocks * segments;
  parallel(threadsFor(static_cast<long>(static_cast<double>(m) * n * k / 1e5), 4), [&](int tid, int nt) {
    long u0, u1;
    splitRange(units, nt, tid, &u0, &u1);
    if (u0 == u1) return;
    thread_local Scratch copyBuf;
    float* copy = copyBuf.floats(static_cast<size_t>(kcMax * nb));  // [kc][nv * width]: B block for panels 1..
    if (!copy) {
      ok = false;
      return;
    }
    for (long u = u0; u < u1; ++u) {
      const Unit t = unitOf(u, colBlocks, nb, m, n, k, segments, kcMax, c, ldc, partials);
      const long j0 = t.j0, cols = t.cols, k0 = t.k0, k1 = t.k1, kcEven = t.kcEven, lds = t.lds;
      float* cs = t.cs;
      const int nv = static_cast<int>(ceilDiv(cols, sk.width));
      const long w = nv * sk.width;
      // A column tail that ends inside a vector is copied first, zero-padded: its last vector would read past
      // the end of B's last row.
      const bool padded = cols != w;
      for (long kk = k0; kk < k1; kk += kcEven) {
        const long kc = minl(kcEven, k1 - kk);
        const float* bs = b + kk * ldb + j0;
        if (padded) {
          for (long p = 0; p < kc; ++p) {
            std::memcpy(copy + p * w, bs + p * ldb, cols * sizeof(float));
            std::memset(copy + p * w + cols, 0, (w - cols) * sizeof(float));
          }
        }
        for (long q = 0; q < panels; ++q) {
          const int rows = static_cast<int>(minl(mr, m - q * mr));
          const int mode = padded || q > 0 ? kCopied : panels > 1 ? kStreamCopy : kStream;
          sk.tile(rows, nv, mode)(kc, packA + (q * k + kk) * mr, mode == kCopied ? copy : bs, mode == kCopied ? w : ldb,
                                  copy, cs + q * mr * lds, lds, cols, kk > k0);
        }
      }
      if (ep && segments == 1) applyEpilogue(*ep, c, ldc, m, j0, j0 + cols);
    }
  });
  if (!ok) return false;

  if (segments > 1) addPartials(c, ldc, partials, m, n, segments, ep);
  return true;
}

}  // namespace ck
