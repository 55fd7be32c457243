// The planar direct convolution (conv_planar.inc) for at most 8 output channels at stride 1: the input is copied
// once per call into planes ([n][c][h][wp], zero columns for the horizontal padding and for the last pixel
// block's overrun), then threads take whole output rows.
#include "conv_planar.h"

#include "isa.h"
#include "threadpool.h"

#define CK_ISA_FILE "conv_planar.inc"
#define CK_ISA_PREFIX planar
#include "per_isa.inc"

namespace ck {
namespace {

using RowsFn = void (*)(const float*, long, const float*, int, float*, long, const Geom&, long, long);

RowsFn planarKernel() {
#if CK_HAVE_X86_VARIANTS
  switch (activeIsa()) {
    case Isa::Avx512: return planar_avx512::planarRows;
    case Isa::Avx2: return planar_avx2::planarRows;
    default: break;
  }
#endif
  return planar_portable::planarRows;
}

constexpr long kMaxOutputs = 8;
constexpr long kWidestBlock = 32;  // pixels per block of any ISA (avx512: 2 x 16)

}  // namespace

// Stride 1, no dilation, at most 8 outputs, and rows wide enough to fill a vector of pixels.
bool planarFits(const Geom& g) {
  return g.outC <= kMaxOutputs && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.ow >= 8 &&
         g.padTop < g.kh && g.padLeft < g.kw;
}

long planarPanel(long outC) { return outC <= 2 ? 2 : outC <= 4 ? 4 : outC <= 6 ? 6 : 8; }

bool convPlanar(const float* x, const float* wk, float* y, const Geom& g, long ldy, const Epilogue* ep) {
  const RowsFn rows = planarKernel();
  const long C = g.c, np = planarPanel(g.outC);
  if (ldy < 0) ldy = g.outC;
  // Columns: the padded row, and enough after it for the last block's vector reads.
  const long need = ceilDiv(g.ow, kWidestBlock) * kWidestBlock + g.kw - 1;
  const long wp = maxl(g.w + g.padLeft + g.padRight, need);
  thread_local Scratch planeBuf;
  float* xp = planeBuf.floats(static_cast<size_t>(g.n * C * g.h * wp));
  if (!xp) return false;
  // NHWC -> planes, threads over (image, input row): each writes its row of every plane, pads included.
  parallel(threadsFor(g.n * g.h * wp * C, 1 << 15), [&](int tid, int nt) {
    long r0, r1;
    splitRange(g.n * g.h, nt, tid, &r0, &r1);
    for (long r = r0; r < r1; ++r) {
      const long b = r / g.h, iy = r % g.h;
      const float* src = x + r * g.w * C;
      for (long ci = 0; ci < C; ++ci) {
        float* dst = xp + ((b * C + ci) * g.h + iy) * wp;
        for (long j = 0; j < g.padLeft; ++j) dst[j] = 0.0f;
        for (long ix = 0; ix < g.w; ++ix) dst[g.padLeft + ix] = src[ix * C + ci];
        for (long j = g.padLeft + g.w; j < wp; ++j) dst[j] = 0.0f;
      }
    }
  });
  const long outRows = g.n * g.oh;
  parallel(threadsFor(outRows * g.ow * g.kh * g.kw * C * np, 1 << 15), [&](int tid, int nt) {
    long r0, r1;
    splitRange(outRows, nt, tid, &r0, &r1);
    if (r0 >= r1) return;
    rows(xp, wp, wk, static_cast<int>(np), y, ldy, g, r0, r1);
    if (ep) applyEpilogue(ep->rows(r0 * g.ow), y + r0 * g.ow * ldy, ldy, (r1 - r0) * g.ow, 0, g.outC);
  });
  return true;
}

}  // namespace ck
