// Dispatch of the few-output-channel direct convolution (conv_few.inc) to the active ISA's copy.
#include "conv_few.h"

#include <utility>

#include "isa.h"
#include "threadpool.h"

namespace ck {
// Register blocking of the direct filter gradient (conv_few.inc, tapsFilter): up to maxTapVectors vectors of
// a kernel row's taps times tapsOutBlock(tv) output channels of sums, so that the sums, tv inputs and one
// broadcast fit the vector registers: 16 (AVX2, SSE2/NEON) or, for 16-float vectors (AVX-512), 32. Each pixel
// then loads tv vectors and broadcasts ob values of dy for tv x ob multiply-adds: with 16 registers' blocks
// on AVX-512, Inception10's 5x5 16 -> 16 layer (80 taps a row) ran 1 x 8, nine loads per eight multiply-adds,
// at 55% of one thread's peak; 5 x 4 is nine per twenty. tapsBlocking below chooses among exactly these pairs.
constexpr int maxTapVectors(int width) { return width == 16 ? 5 : 3; }
constexpr int tapsOutBlock(int tv, int width) {
  return width == 16 ? (tv == 1 ? 24 : tv == 2 ? 12 : tv == 3 ? 8 : tv == 4 ? 6 : 5) : (tv == 1 ? 12 : tv == 2 ? 6 : 4);
}
constexpr int kMaxTapTile = 25;  // the most tv x ob vectors of sums any ISA's block holds
constexpr int kMaxFewWidth = 16;  // floats per vector of the widest ISA (avx512)
constexpr int kMaxFewVectors = 6;  // vectors of outputs of a stem (fewForwardPanel): the bias is padded to them
}  // namespace ck

#define CK_ISA_FILE "conv_few.inc"
#define CK_ISA_PREFIX few
#include "per_isa.inc"

namespace ck {
namespace {

using RowsFn = void (*)(const float*, const float*, const FewOut&, const Geom&, long, long, int, const float*);
using FilterFn = void (*)(const float*, const float*, const float*, long, const Geom&, long, long, int, int, float*);

struct FewKernel {
  int width;  // floats per vector
  RowsFn rows;
  FilterFn filter;
};

FewKernel fewKernel() {
#if CK_HAVE_X86_VARIANTS
  switch (activeIsa()) {
    case Isa::Avx512: return {few_avx512::W, few_avx512::fewRows, few_avx512::tapsFilter};
    case Isa::Avx2: return {few_avx2::W, few_avx2::fewRows, few_avx2::tapsFilter};
    default: break;
  }
#endif
  return {few_portable::W, few_portable::fewRows, few_portable::tapsFilter};
}

}  // namespace

int fewOutputsPanel(long outC) {
  const int w = fewKernel().width;
  return outC <= w ? w : outC <= 2 * w ? 2 * w : 0;
}

// A stem's kernel rows are a few floats (3x3x3: 27 taps), so the GEMM spent most of its time packing im2col
// panels of 3-float runs, one pass per block of rows. Read in place, up to 6 vectors of sums per pixel and 4 to
// 8 pixels a block fit AVX-512's 32 registers (conv_few.inc).
constexpr long kStemChannels = 4;

int fewForwardPanel(const Geom& g) {
  if (const int nr = fewOutputsPanel(g.outC)) return nr;
  const int w = fewKernel().width;
  if (w < 16 || g.c > kStemChannels) return 0;
  const long nv = ceilDiv(g.outC, w);
  return nv <= kMaxFewVectors ? static_cast<int>(nv) * w : 0;
}

// x with `padLeft` and `padRight` zero columns added to every row (and `slack` zeros past the end), and the
// geometry that reads it with no left/right padding. Both direct kernels read a window's taps of one kernel
// row as one run when the window lies inside the row; with 'same' padding the windows at the borders did
// not, and their tap-by-tap path cost more than the rest of the layer (LeNet conv2's input gradient, a
// transposed convolution padded by 4 on 10-pixel rows, had no window inside a row at all). Returns x itself
// when the layer pads neither side (or dilates along x); nullptr when memory cannot be had.
static const float* padRowsOnce(const float* x, const Geom& g, long slack, Scratch& buf, Geom* gp) {
  *gp = g;
  if (g.dw != 1 || (g.padLeft == 0 && g.padRight == 0)) return x;
  const long wp = g.w + g.padLeft + g.padRight, rows = g.n * g.h, C = g.c;
  float* xp = buf.floats(static_cast<size_t>(rows * wp * C + slack));
  if (!xp) return nullptr;
  parallel(threadsFor(rows * wp * C, 1 << 16), [&](int tid, int nthreads) {
    long r0, r1;
    splitRange(rows, nthreads, tid, &r0, &r1);
    for (long r = r0; r < r1; ++r) {
      float* out = xp + r * wp * C;
      std::memset(out, 0, static_cast<size_t>(g.padLeft * C) * sizeof(float));
      std::memcpy(out + g.padLeft * C, x + r * g.w * C, static_cast<size_t>(g.w * C) * sizeof(float));
      std::memset(out + (g.padLeft + g.w) * C, 0, static_cast<size_t>(g.padRight * C) * sizeof(float));
    }
  });
  std::memset(xp + rows * wp * C, 0, static_cast<size_t>(slack) * sizeof(float));
  gp->w = wp;
  gp->padLeft = gp->padRight = 0;
  return xp;
}

bool convFewOutputs(const float* x, const float* wp, float* y, const Geom& g, long ldy, const Epilogue* ep) {
  const FewKernel k = fewKernel();
  const int nv = static_cast<int>(ceilDiv(g.outC, k.width));
  const long N = g.outC;
  if (ldy < 0) ldy = N;
  const float* zero = zeros(static_cast<size_t>(g.kw * g.c));
  thread_local Scratch padBuf;
  Geom gp;
  const float* xs = padRowsOnce(x, g, 0, padBuf, &gp);
  if (!zero || !xs) return false;
  // Bias and relu / relu6 in the kernel; a residual addend or another activation is a pass over each thread's
  // rows afterwards.
  alignas(64) float bias[kMaxFewVectors * kMaxFewWidth] = {};
  if (ep && ep->bias) std::memcpy(bias, ep->bias, static_cast<size_t>(N) * sizeof(float));
  const bool clipInKernel = !ep || (!ep->addend && isClip(ep->act));
  const FewOut out{y, ldy, ep && ep->bias ? bias : nullptr, ep && clipInKernel ? ep->act : Act::Linear};
  const long rows = g.n * g.oh;
  parallel(threadsFor(rows * g.ow * g.kh * g.kw * g.c * nv, 1 << 15), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    if (r0 >= r1) return;
    k.rows(xs, wp, out, gp, r0, r1, nv, zero);
    if (ep && !clipInKernel)
      applyEpilogue(Epilogue{nullptr, ep->act, ep->addend, ep->ldAdd}.rows(r0 * g.ow), y + r0 * g.ow * ldy, ldy,
                    (r1 - r0) * g.ow, 0, N);
  });
  return true;
}

static void tapsBlocking(long L, long N, int width, int* tv, int* ob) {
  double best = -1;
  for (int t = 1; t <= maxTapVectors(width); ++t) {
    const int obMax = tapsOutBlock(t, width);
    const long chunks = ceilDiv(L, t * width), fewest = ceilDiv(N, obMax);
    // The fewest blocks of output channels, or a few more: a block that divides N spares the padded copy of
    // dy (MobileNet's stem, 32 outputs: 4 blocks of 8 instead of 3 of 11, 2.67 -> 1.92 ms at batch 8, Zen 5;
    // the lanes used 56% either way).
    for (long blocks = fewest; blocks <= fewest + 2; ++blocks) {
      const long o = ceilDiv(N, blocks);
      const double used = static_cast<double>(L * N) / static_cast<double>(chunks * t * width * blocks * o);
      // Ties: on AVX-512 the fewest loads per multiply-add ((t + o) / (t o): 5 x 4 before 1 x 16 for 80 taps);
      // on the 16-register ISAs the larger block, as measured before (AVX2 with the loads rule picked 2 x 4
      // over 1 x 8 for 64 -> 32 and ran 10-20% slower).
      const double tie = width == 16 ? -1e-2 * static_cast<double>(t + o) / static_cast<double>(t * o) : 1e-3 * t * o;
      const double score = used + tie + (N % o == 0 ? 0.02 : 0.0);
      if (score > best) {
        best = score;
        *tv = t;
        *ob = static_cast<int>(o);
      }
    }
  }
}

bool convFilterTaps(const float* x, const float* dy, float* dw, const Geom& g) {
  const FewKernel k = fewKernel();
  const long M = g.n * g.oh * g.ow, L = g.kw * g.c, K = g.kh * L, N = g.outC;
  int tv, ob;
  tapsBlocking(L, N, k.width, &tv, &ob);
  // Pixel segments fixed by the shape: each gets its own partial sum, added in segment order, so the
  // result is the same for every thread count.
  const long segments = maxl(1, minl(16, M / 1024));
  thread_local Scratch padBuf, partBuf;
  float* parts = partBuf.floats(static_cast<size_t>(segments * K * N));
  if (!parts) return false;
  // The last block of output channels reads ob values of dy per pixel; pad dy's rows when N is not a
  // multiple of ob so that those reads stay inside the array.
  const long dyStride = ceilDiv(N, ob) * ob;
  const float* dyRead = dy;
  const int nt = threadsFor(M * K * N, 1 << 15);
  if (dyStride != N) {
    float* pad = padBuf.floats(static_cast<size_t>(M * dyStride));
    if (!pad) return false;
    parallel(nt, [&](int tid, int nthreads) {
      long a, b;
      splitRange(M, nthreads, tid, &a, &b);
      for (long p = a; p < b; ++p)
        for (long j = 0; j < dyStride; ++j) pad[p * dyStride + j] = j < N ? dy[p * N + j] : 0.0f;
    });
    dyRead = pad;
  }
  // Padded rows: every window one run of taps inside its row (a chunk may read 3 vectors past the end).
  thread_local Scratch xpBuf;
  Geom gp;
  const float* xs = padRowsOnce(x, g, 3L * k.width, xpBuf, &gp);
  if (!xs) return false;
  const float* xEnd = xs == x ? x + g.n * g.h * g.w * g.c : xs + g.n * g.h * gp.w * g.c + 3L * k.width;
  parallel(nt, [&](int tid, int nthreads) {
    long s0, s1;
    splitRange(segments, nthreads, tid, &s0, &s1);
    for (long s = s0; s < s1; ++s) {
      long p0, p1;
      splitRange(M, segments, s, &p0, &p1);
      k.filter(xs, xEnd, dyRead, dyStride, gp, p0, p1, tv, ob, parts + s * K * N);
    }
  });
  for (long i = 0; i < K * N; ++i) {
    float sum = parts[i];
    for (long s = 1; s < segments; ++s) sum += parts[s * K * N + i];
    dw[i] = sum;
  }
  return true;
}

}  // namespace ck
