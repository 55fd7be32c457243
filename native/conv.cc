// Convolution, NHWC input and HWIO kernel, forward and both backward passes, all through the packed GEMM.
//
// The im2col matrix col[M = n*oh*ow, K = kh*kw*c] (row = output pixel, column = (ky, kx, ci)) is never
// materialised: its panels are packed straight from x by Im2colRows / Im2colCols, or, as the A operand with
// 16 channels or more, not packed at all: the microkernel broadcasts from x through one pointer per pixel and
// kernel tap (Im2colRows::locate, the indirect GEMM of XNNPACK).
//   forward          y  [M, outC]    = col [M, K] * w [K, outC]
//   backprop filter  dw^T [outC, K]  = dy^T [outC, M] * col [M, K], then a small transpose. This way round
//                    the im2col panels are NR wide (16 or 32 consecutive channels of one pixel: one copy, or
//                    with few outputs one pointer, read in place) rather than MR wide; packing col dominated
//                    the other orientation. With fewer than 8 input channels (the RGB stem) every panel is a
//                    gather of short runs either way: dw = col^T dy, dy read in place, no transpose.
//   backprop input   stride 1: a forward convolution of dy with the kernel flipped in space and with
//                    in/out channels swapped (the transposed convolution), again with implicit im2col.
//                    stride > 1: dcol [M, K] = dy [M, outC] * w^T in chunks, then col2im adds dcol into dx.
// 1x1 stride-1 unpadded convolutions skip im2col: x is already col, so every pass is a plain GEMM.
// Forward passes with few output pixels (M <= 64: batch-1 inference on small maps) go to the small-M GEMM
// (gemm_small.cc), which streams the kernel once instead of packing it in every thread.
#include "kernels.h"

#include "conv_edges.h"
#include "conv_few.h"
#include "conv_panels.h"
#include "conv_planar.h"
#include "gemm.h"
#include "gemm_small.h"
#include "winograd.h"
#include "interleave.h"
#include "threadpool.h"

namespace ck {
namespace {

constexpr long kFewChannels = 8;

bool isPointwise(const Geom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.padTop == 0 && g.padBottom == 0 &&
         g.padLeft == 0 && g.padRight == 0;
}

// dx += col2im(dcol) for output pixels [m0, m0 + rows). Threads take disjoint channel slices, so each dx
// value receives its terms in (pixel, tap) order whatever the thread count.
// dcol: [rows, kh*kw*c]; dx: [n, h, w, c].
void col2imAdd(const float* dcol, long m0, long rows, float* dx, const Geom& g) {
  const long C = g.c, K = g.kh * g.kw * C;
  parallel(threadsFor(rows * K, 1 << 15), [&](int tid, int nt) {
    long c0, c1;
    splitRange(C, nt, tid, &c0, &c1);
    if (c0 == c1) return;
    for (long m = m0; m < m0 + rows; ++m) {
      const long ox = m % g.ow, t = m / g.ow, oy = t % g.oh, b = t / g.oh;
      const float* src = dcol + (m - m0) * K;
      for (long ky = 0; ky < g.kh; ++ky) {
        const long iy = oy * g.sh - g.padTop + ky * g.dh;
        if (iy < 0 || iy >= g.h) continue;
        for (long kx = 0; kx < g.kw; ++kx) {
          const long ix = ox * g.sw - g.padLeft + kx * g.dw;
          if (ix < 0 || ix >= g.w) continue;
          float* __restrict out = dx + ((b * g.h + iy) * g.w + ix) * C;
          const float* __restrict in = src + (ky * g.kw + kx) * C;
          for (long ci = c0; ci < c1; ++ci) out[ci] += in[ci];
        }
      }
    }
  });
}

// y [M, N] = col [M, K] * w [K, N], w given as N panel rows of depth K. With fewer output channels than the
// microkernel is wide (LeNet's 3 -> 6 convolution: N = 6 against NR = 16) the product is computed the other
// way round, y^T [N, M] = w^T col^T, so the long pixel dimension fills the NR-wide panels instead of N being
// padded to NR, then transposed back. Chosen by shape alone, so results stay independent of thread count.
bool gemmIm2col(const Panelizer& col, const Panelizer& wRows, long M, long N, long K, float* y) {
  if (N >= gemmKernel().nr) return gemm(col, wRows, M, N, K, y, N, false);
  thread_local Scratch ytBuf;
  float* yT = ytBuf.floats(static_cast<size_t>(N * M));  // y^T: [N, M]
  if (!yT || !gemm(wRows, col, N, M, K, yT, M, false)) return false;
  transpose(yT, N, M, y);
  return true;
}

// The kernel as the direct kernel wants it: wp [K][nr], wp[k][j] = at(k, j) for j < n, else 0.
template <class At>
float* packFewKernel(long K, long n, int nr, At at) {
  thread_local Scratch buf;
  float* wp = buf.floats(static_cast<size_t>(K * nr));
  if (!wp) return nullptr;
  for (long k = 0; k < K; ++k)
    for (long j = 0; j < nr; ++j) wp[k * nr + j] = j < n ? at(k, j) : 0.0f;
  return wp;
}

}  // namespace

namespace {

// The layout a plan packs a kernel in (conv2dPack): the one conv2dEx's path for g reads.
enum class Packing { None, Planar, Few, SmallM, Gemm, Winograd };

Packing packingFor(const Geom& g) {
  const long M = g.n * g.oh * g.ow, K = g.kh * g.kw * g.c;
  const bool fewPixels = smallMFits(M, g.outC, K);
  // Few pixels: the column stream (2..48 rows), the main GEMM on packed panels (49..64), or for a single
  // pixel the matrix-vector product on the kernel as it is.
  const Packing few = smallPackedSize(M, g.outC, K) > 0 ? Packing::SmallM : M > 1 ? Packing::Gemm : Packing::None;
  if (isPointwise(g)) return fewPixels ? few : Packing::Gemm;
  if (planarFits(g)) return Packing::Planar;
  if (fewForwardPanel(g)) return Packing::Few;
  if (g.outC < gemmKernel().nr) return Packing::None;
  if (winogradFits(g)) return Packing::Winograd;
  return fewPixels ? few : Packing::Gemm;
}

}  // namespace

// y: [n, oh, ow, outC]; x: [n, h, w, c]; w: [kh, kw, c, outC]
bool conv2d(const float* x, const float* w, float* y, const Geom& g) { return conv2dEx(x, w, y, g, g.outC, nullptr, nullptr); }

// The paths that write y densely ([M, outC]) get a dense scratch when y is a slice of a wider buffer; those that
// apply no epilogue of their own get it as one more pass, row-split over threads, while y is still in cache.
bool conv2dEx(const float* x, const float* w, float* y, const Geom& g, long ldy, const Epilogue* epIn, const float* packed) {
  const long M = g.n * g.oh * g.ow, K = g.kh * g.kw * g.c;
  // A residual addend may be y itself (a plan writes the sum over its summand): the main GEMM sees to that
  // (gemm.h); the other paths write y before they add it, so they get a copy.
  Epilogue copied;
  const Epilogue* ep = epIn;
  auto separate = [&]() -> bool {
    if (!epIn || !epIn->addend || epIn->addend != y) return true;
    const float* c = copyAddend(*epIn, M, g.outC);
    if (!c) return false;
    copied = Epilogue{epIn->bias, epIn->act, c, g.outC};
    ep = &copied;
    return true;
  };
  StridedPanels wp(w, 1, g.outC);  // B: outC rows of depth K
  // Few output pixels (batch-1 inference on small maps): stream the weights once (gemm_small.cc), unless a
  // plan packed them for the main GEMM.
  const bool fewPixels = smallMFits(M, g.outC, K) && !(packed && packingFor(g) == Packing::Gemm);
  // A plan's kernel packed ahead for the main GEMM (conv2dPack): its blocks are read in place.
  const PrepackedPanels ahead(packed, K, gemmKernel().nr);
  // The main GEMM stores an output larger than the last-level cache past it (gemm.h: streamOutput).
  Epilogue streamed;
  const Epilogue* mainEp = ep;
  if (streamOutput(M * ldy)) {
    streamed = ep ? *ep : Epilogue{nullptr, Act::Linear};
    streamed.stream = true;
    mainEp = &streamed;
  }
  if (isPointwise(g)) {
    if (fewPixels) return separate() && gemmSmallM(StridedPanels(x, g.c, 1), w, g.outC, M, g.outC, K, y, ldy, ep, packed);
    return gemm(StridedPanels(x, g.c, 1), packed ? static_cast<const Panelizer&>(ahead) : wp, M, g.outC, K, y, ldy, false, mainEp);
  }
  // At most 8 outputs at stride 1: the planar kernel, pixels in the vector lanes (conv_planar.cc). The kernel
  // is used as it is, its columns padded to the panel (a plan pads it once: conv2dPack).
  if (planarFits(g)) {
    const long np = planarPanel(g.outC);
    const float* wk = packed ? packed : packFewKernel(K, g.outC, static_cast<int>(np), [&](long k, long j) { return w[k * g.outC + j]; });
    return wk && separate() && convPlanar(x, wk, y, g, ldy, ep);
  }
  // The direct kernel for up to two vectors of output channels: 1.5-3x the GEMM there (no im2col panels to
  // pack, no tile columns wasted). Run over 16-channel panels of wider layers it was level with the GEMM at
  // 64 channels and behind it from 256 (A/B on ResNet/VGG shapes), so those stay on the GEMM; a stem of RGB or
  // grayscale input takes it up to six vectors (fewForwardPanel).
  if (const int nr = fewForwardPanel(g)) {
    // An inference plan packs the kernel once (conv2dPack); otherwise it is packed here, every call.
    const float* pk = packed ? packed : packFewKernel(K, g.outC, nr, [&](long k, long j) { return w[k * g.outC + j]; });
    return pk && separate() && convFewOutputs(x, pk, y, g, ldy, ep);
  }
  // Stride-1 3x3 layers with many channels and pixels: Winograd F(2x2, 3x3) (winograd.cc).
  if (winogradFits(g)) return winogradConv(x, w, packed, y, g, ldy, ep);
  const float* zero = zeros(static_cast<size_t>(g.c));
  if (!zero) return false;
  if (fewPixels) return separate() && gemmSmallM(Im2colRows(x, g, zero), w, g.outC, M, g.outC, K, y, ldy, ep, packed);
  if (g.outC >= gemmKernel().nr && edgeClassesPay(g))
    return separate() && edgeClassConv(x, g, packed ? static_cast<const Panelizer&>(ahead) : wp, g.outC, y, ldy, ep);
  if (g.outC >= gemmKernel().nr)
    return gemm(Im2colRows(x, g, zero), packed ? static_cast<const Panelizer&>(ahead) : wp, M, g.outC, K, y, ldy, false, mainEp);
  // Fewer outputs than a GEMM panel but more than the direct kernel takes (not reached by today's ISAs, whose
  // direct kernel covers up to two vectors = the GEMM panel): dense, then copied and finished.
  if (!separate()) return false;
  thread_local Scratch denseBuf;
  float* dense = ldy == g.outC ? y : denseBuf.floats(static_cast<size_t>(M * g.outC));
  if (!dense || !gemmIm2col(Im2colRows(x, g, zero), wp, M, g.outC, K, dense)) return false;
  if (dense == y && !ep) return true;
  parallel(threadsFor(M * g.outC, 1 << 14), [&](int tid, int nt) {
    long r0, r1;
    splitRange(M, nt, tid, &r0, &r1);
    if (dense != y)
      for (long r = r0; r < r1; ++r) std::memcpy(y + r * ldy, dense + r * g.outC, g.outC * sizeof(float));
    if (ep && r1 > r0) applyEpilogue(ep->rows(r0), y + r0 * ldy, ldy, r1 - r0, 0, g.outC);
  });
  return true;
}

long conv2dPackedSize(const Geom& g) {
  const long K = g.kh * g.kw * g.c;
  switch (packingFor(g)) {
    case Packing::Planar: return K * planarPanel(g.outC);
    case Packing::Few: return K * fewForwardPanel(g);
    case Packing::SmallM: return smallPackedSize(g.n * g.oh * g.ow, g.outC, K);
    case Packing::Gemm: return gemmPackedSize(g.outC, K);
    case Packing::Winograd: return winogradPackedSize(g);
    case Packing::None: break;
  }
  return 0;
}

void conv2dPack(const float* w, const Geom& g, float* dst) {
  const long K = g.kh * g.kw * g.c;
  const Packing packing = packingFor(g);
  if (packing == Packing::SmallM) return smallPack(w, g.outC, g.outC, K, dst);
  if (packing == Packing::Gemm) return gemmPack(w, g.outC, K, dst);
  if (packing == Packing::Winograd) return winogradPack(w, g, dst);
  const long nr = packing == Packing::Planar ? planarPanel(g.outC) : fewForwardPanel(g);
  for (long k = 0; k < K; ++k)
    for (long j = 0; j < nr; ++j) dst[k * nr + j] = j < g.outC ? w[k * g.outC + j] : 0.0f;
}

// dw: [kh, kw, c, outC]; x: [n, h, w, c]; dy: [n, oh, ow, outC]
bool conv2dBackpropFilter(const float* x, const float* dy, float* dw, const Geom& g) {
  const long M = g.n * g.oh * g.ow, K = g.kh * g.kw * g.c;
  // Direct (vectorised over a kernel row's taps) when a kernel row has few taps (kw * c <= 80) and the layer
  // few outputs: LeNet conv1 1.49 -> 0.28 ms (5x the GEMM), Inception10's 1x1 stride-2 16 -> 16 0.68 -> 0.46
  // ms, 3x3 16 -> 16 2.65 -> 2.1-2.5 ms, 5x5 16 -> 16 at batch 32 3.8-4.7 -> 1.6-1.7 ms (the GEMM's 16 rows
  // of C filled 12 + 4 of its 12-row tiles; a tenth of Inception10's training step). With longer rows the
  // GEMM's packing is cheap and it ties or wins (5x5 32 -> 32: 1.0-1.6 against 1.4-2.2 ms; 1x1 64 -> 16;
  // 1x1 32 -> 64: 8 vs 16 ms).
  if (g.kw * g.c <= 80 && fewOutputsPanel(g.outC)) return convFilterTaps(x, dy, dw, g);
  // Winograd (winograd.cc) where each position's dU = V^T dM is more than a 64 x 64 product: at 64 -> 64 its two
  // operands' packing (read transposed) ate the saving (ResNet18's 32x32x64 at batch 32, one process
  // alternating builds: 0.84-1.11 of the direct GEMM's time; 16x16x128 0.68-0.81, 8x8x256 0.58-0.81, 4x4x512
  // 0.60-0.68, AlexNet8's 14x14x96 -> 256 0.64).
  if (winogradFits(g) && g.c * g.outC > 64 * 64) return winogradFilterGrad(x, dy, dw, g);
  // Few input channels (the RGB stem): every im2col panel is a gather of short runs whichever way round, so
  // it goes in as A, dw = col^T dy, and dy is B, read in place (no dy^T panels, no transpose). So do kernels
  // with at least twice as many rows as output pixels (small maps, many channels): dw^T then took a transpose
  // of the whole kernel and C traffic over few pixels. On Zen 5, 2 threads, in one process alternating:
  // 32x4x4x512 -> 512 7.7 -> 6.4 ms, 128x2x2x512 6.6 -> 5.8, 32x8x8x256 -> 512 stride 2 3.3 -> 3.1, 128x4x4x512
  // level; with more pixels than that dw^T stays ahead (32x32x32x64 7.0 against 8.2 this way).
  if ((g.c < kFewChannels || 2 * M <= K) && !isPointwise(g))
    return gemm(Im2colCols(x, g), StridedPanels(dy, 1, g.outC), K, g.outC, M, dw, g.outC, false);
  // Pointwise: dw [c, outC] = x^T dy straight, x^T as A and dy as B (rows of both read in place), unless few
  // outputs and more inputs: then dw^T = dy^T x, whose C has few rows and so reads x^T in place (gemm.h,
  // kMaxRowsBInPlace), and a small transpose. Straight, on Zen 5 at batch 8, MobileNet's 112x112 32 -> 64 layer
  // took 2.6 ms against 3.9 through dw^T and its 7x7 1024 -> 1024 layer 2.4 against 3.6 (a 4 MB transpose);
  // through dw^T, Inception10's 8x8 128 -> 32 at batch 128 took 0.24 against 0.30-0.35.
  const bool fewOutputs = g.outC <= kMaxRowsBInPlace && g.c > g.outC;
  if (isPointwise(g) && !fewOutputs) return gemm(StridedPanels(x, 1, g.c), StridedPanels(dy, 1, g.outC), g.c, g.outC, M, dw, g.outC, false);
  StridedPanels dyT(dy, 1, g.outC);  // A = dy^T: outC rows of depth M
  thread_local Scratch dwtBuf;
  float* dwT = dwtBuf.floats(static_cast<size_t>(g.outC * K));  // dw^T: [outC, K]
  if (!dwT) return false;
  const bool ok = isPointwise(g) ? gemm(dyT, StridedPanels(x, 1, g.c), g.outC, K, M, dwT, K, false)
                                 : gemm(dyT, Im2colCols(x, g), g.outC, K, M, dwT, K, false);
  if (!ok) return false;
  transpose(dwT, g.outC, K, dw);
  return true;
}

namespace {

// Stride-1 backprop input as the forward convolution of dy with w' [kh, kw, outC, c],
// w'[ky, kx, co, ci] = w[kh-1-ky, kw-1-kx, ci, co], and padding (k-1)*d - pad before each axis. Needs that
// padding to be non-negative (true for `same` and `valid`).
bool transposedConvFits(const Geom& g) {
  return g.sh == 1 && g.sw == 1 && g.padTop <= (g.kh - 1) * g.dh && g.padLeft <= (g.kw - 1) * g.dw;
}

bool backpropInputTransposed(const float* dy, const float* w, float* dx, const Geom& g) {
  Geom t = g;
  t.h = g.oh;
  t.w = g.ow;
  t.c = g.outC;
  t.oh = g.h;
  t.ow = g.w;
  t.outC = g.c;
  t.padTop = (g.kh - 1) * g.dh - g.padTop;
  t.padLeft = (g.kw - 1) * g.dw - g.padLeft;
  t.padBottom = (g.kh - 1) * g.dh - g.padBottom;  // not read by the packer; kept for a consistent Geom
  t.padRight = (g.kw - 1) * g.dw - g.padRight;
  const long taps = g.kh * g.kw;
  // w'[tap][co][ci] = w[taps-1-tap][ci][co], row (tap, co) of the packed kernel.
  const auto flipped = [&](long k, long ci) {
    const long tap = k / g.outC, co = k - tap * g.outC;
    return w[((taps - 1 - tap) * g.c + ci) * g.outC + co];
  };
  if (planarFits(t)) {
    const float* packed = packFewKernel(taps * g.outC, g.c, static_cast<int>(planarPanel(g.c)), flipped);
    return packed && convPlanar(dy, packed, dx, t);
  }
  if (const int nr = fewOutputsPanel(g.c)) {
    const float* packed = packFewKernel(taps * g.outC, g.c, nr, flipped);
    return packed && convFewOutputs(dy, packed, dx, t);
  }
  if (winogradFits(t)) return winogradConvFlipped(dy, w, dx, t);
  const float* zero = zeros(static_cast<size_t>(t.c));
  if (!zero) return false;
  const FlippedKernelPanels wFlipped(w, g);
  if (g.c >= gemmKernel().nr && edgeClassesPay(t)) return edgeClassConv(dy, t, wFlipped, g.c, dx, g.c, nullptr);
  return gemmIm2col(Im2colRows(dy, t, zero), wFlipped, g.n * g.h * g.w, g.c, taps * g.outC, dx);
}

// Windows that do not overlap (stride >= kernel: the 1x1 stride-2 shortcuts of ResNet and Inception): every
// dx pixel gets at most one tap of one window. One GEMM gives every window's taps, then each dx row is
// written once, from its tap or as zeros. The general path below zeroed all of dx single-threaded and then
// added into it: 4 ms per call for Inception10's 128x32x32x16 input gradient, against 16 MFLOP of GEMM.
bool backpropInputDisjoint(const float* dy, const Panelizer& wt, float* dx, const Geom& g) {
  const long M = g.n * g.oh * g.ow, C = g.c, K = g.kh * g.kw * C;
  thread_local Scratch dcolBuf;
  float* dcol = dcolBuf.floats(static_cast<size_t>(M * K));
  if (!dcol || !gemm(StridedPanels(dy, g.outC, 1), wt, M, K, g.outC, dcol, K, false)) return false;
  const long rows = g.n * g.h;
  parallel(threadsFor(rows * g.w * C, 1 << 15), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    for (long r = r0; r < r1; ++r) {
      const long b = r / g.h, iy = r % g.h, ty = iy + g.padTop, oy = ty / g.sh, ky = ty - oy * g.sh;
      const bool rowHit = ky < g.kh && oy < g.oh;
      float* out = dx + r * g.w * C;
      for (long ix = 0; ix < g.w; ++ix, out += C) {
        const long tx = ix + g.padLeft, ox = tx / g.sw, kx = tx - ox * g.sw;
        // Inline loops: a library call per pixel's C values cost more than the values.
        if (rowHit && kx < g.kw && ox < g.ow) {
          const float* __restrict src = dcol + ((b * g.oh + oy) * g.ow + ox) * K + (ky * g.kw + kx) * C;
          for (long ci = 0; ci < C; ++ci) out[ci] = src[ci];
        } else {
          for (long ci = 0; ci < C; ++ci) out[ci] = 0.0f;
        }
      }
    }
  });
  return true;
}

}  // namespace

// dx: [n, h, w, c]; dy: [n, oh, ow, outC]; w: [kh, kw, c, outC]
bool conv2dBackpropInput(const float* dy, const float* w, float* dx, const Geom& g) {
  const long M = g.n * g.oh * g.ow, K = g.kh * g.kw * g.c;
  StridedPanels wt(w, g.outC, 1);  // B = w^T: K rows of depth outC
  if (isPointwise(g)) return gemm(StridedPanels(dy, g.outC, 1), wt, M, K, g.outC, dx, K, false);
  if (transposedConvFits(g)) return backpropInputTransposed(dy, w, dx, g);
  if (g.kh <= g.sh && g.kw <= g.sw && g.dh == 1 && g.dw == 1) return backpropInputDisjoint(dy, wt, dx, g);

  std::memset(dx, 0, static_cast<size_t>(g.n * g.h * g.w * g.c) * sizeof(float));
  // dcol in chunks of output pixels, about 1 MiB each, so that it is still in cache when col2im reads it;
  // bounded memory for any batch and image size. The chunk size depends on the shape only, so the order of
  // additions into dx does too.
  const long chunk = maxl(1, (1L << 18) / maxl(K, 1));
  thread_local Scratch dcolBuf;
  float* dcol = dcolBuf.floats(static_cast<size_t>(minl(chunk, M) * K));
  if (!dcol) return false;
  for (long m0 = 0; m0 < M; m0 += chunk) {
    const long rows = minl(chunk, M - m0);
    if (!gemm(StridedPanels(dy + m0 * g.outC, g.outC, 1), wt, rows, K, g.outC, dcol, K, false)) return false;
    col2imAdd(dcol, m0, rows, dx, g);
  }
  return true;
}

}  // namespace ck
