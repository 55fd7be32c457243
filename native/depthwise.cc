// Depthwise convolution, direct (no GEMM: each output channel has only kh*kw taps, too little reuse to be
// worth packing), vectorised over channels, one copy of the row kernels per ISA.
//   forward          threads own output rows
//   backprop input   threads own dx rows and gather (no scatter, no atomics)
//   backprop filter  fixed blocks of output rows each sum into their own partial kernel; the partials are
//                    added in block order. Block count depends on the shape only.
#include "gemm.h"
#include "isa.h"
#include "kernels.h"
#include "threadpool.h"

#include <atomic>
#include <cstring>

#define CK_ISA_FILE "depthwise_rows.inc"
#define CK_ISA_PREFIX dw
#include "per_isa.inc"

namespace ck {
namespace {

using RowFn = void (*)(const float*, const float*, float*, const Geom&, long, long);
// The forward rows also take the epilogue when it is a clip (bias, relu / relu6 / linear), applied in registers
// for depth multiplier 1; null otherwise.
using ForwardRowFn = void (*)(const float*, const float*, float*, const Geom&, long, long, const Epilogue*);

struct DwKernels {
  ForwardRowFn forwardRow;
  RowFn backpropInputRow, backpropFilterRows;
  ForwardRowFn forwardRow3x3;  // 3x3, no dilation, depth multiplier 1
  RowFn backpropFilterRows3x3;
  RowFn backpropInputRow3x3s2;
};

const DwKernels& dwKernels() {
  static const DwKernels portable{dw_portable::dwForwardRow,           dw_portable::dwBackpropInputRow,
                                  dw_portable::dwBackpropFilterRows,   dw_portable::dwForwardRow3x3,
                                  dw_portable::dwBackpropFilterRows3x3, dw_portable::dwBackpropInputRow3x3s2};
#if CK_HAVE_X86_VARIANTS
  static const DwKernels avx2{dw_avx2::dwForwardRow,           dw_avx2::dwBackpropInputRow,
                              dw_avx2::dwBackpropFilterRows,   dw_avx2::dwForwardRow3x3,
                              dw_avx2::dwBackpropFilterRows3x3, dw_avx2::dwBackpropInputRow3x3s2};
  static const DwKernels avx512{dw_avx512::dwForwardRow,           dw_avx512::dwBackpropInputRow,
                                dw_avx512::dwBackpropFilterRows,   dw_avx512::dwForwardRow3x3,
                                dw_avx512::dwBackpropFilterRows3x3, dw_avx512::dwBackpropInputRow3x3s2};
  switch (activeIsa()) {
    case Isa::Avx512: return avx512;
    case Isa::Avx2: return avx2;
    default: break;
  }
#endif
  return portable;
}

constexpr long kGrain = 1 << 15;  // multiply-adds per thread

long tapWork(const Geom& g) { return g.kh * g.kw * g.outC; }

}  // namespace

bool depthwiseConv2d(const float* x, const float* w, float* y, const Geom& g) { return depthwiseConv2dEx(x, w, y, g, nullptr); }

bool depthwiseConv2dEx(const float* x, const float* w, float* y, const Geom& g, const Epilogue* ep) {
  const DwKernels& k = dwKernels();
  // The 3x3 row kernel wherever it applies; both give the same bits. It won with channels short of one 4-vector
  // block of the general path (MobileNet's 32 at 112x112, 8x at batch 1 and 32) and with inputs in cache
  // (batch 1: 56x56x128 1.4x, 28x28x256 1.2x, 14x14x512 level). Streaming a batch-32 input from memory the
  // general path's whole-pixel runs had done as well or 5-15% better on Zen 3 and Sapphire Rapids (32x56x56x128,
  // 32x14x14x512), so those inputs took it; on Zen 5, summed over MobileNet's batch-32 plan in alternating
  // processes (its 112x112x32 layer, on the 3x3 kernel either way, as the control), the 3x3 kernel took
  // 17.7-22.3 ms over the depthwise layers that had gone to the general path, against 21.6-24.3, and with the
  // AVX2 copy the 112x112x32 layer (32 channels: one block of the general path there) 4.9-5.4 ms against 7.9-8.9.
  const bool fast3x3 = dw_portable::dwFits3x3(g);
  const ForwardRowFn row = fast3x3 ? k.forwardRow3x3 : k.forwardRow;
  // The epilogue in registers (as separate passes over each row it was ~5% of MobileNet's inference at batch
  // 32); sigmoid / tanh and depth multipliers above 1 keep the pass.
  const bool fused = ep && !ep->addend && g.depthMultiplier == 1 && isClip(ep->act);
  const long rows = g.n * g.oh, rowSize = g.ow * g.outC;
  parallel(threadsFor(rows * g.ow * tapWork(g), kGrain), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    for (long r = r0; r < r1; ++r) {
      row(x, w, y + r * rowSize, g, r / g.oh, r % g.oh, fused ? ep : nullptr);
      if (ep && !fused) applyEpilogue(ep->rows(r * g.ow), y + r * rowSize, g.outC, g.ow, 0, g.outC);
    }
  });
  return true;
}

// A tile's depthwise output, at most this many floats (256 KiB): written and read back in L2. Against the two
// layers apart, in one process alternating (MobileNet, 2 threads), 64 KiB tiles had lost 10% at batch 1 on the
// 14x14x512 pairs (each thread then streamed the 1 MiB pointwise kernel once per two-row tile instead of once)
// and done no better at batch 32; at 256 KiB every pair was level or ahead at both batch sizes. And at least
// kPairTilePixels pixels: each tile's GEMM streams the whole pointwise kernel (C x outC) from the last-level
// cache, which for 512 channels (1 MiB) at 126 pixels a tile cost MobileNet's 14x14x512 pairs at batch 32
// 2-4% against tiles twice that (one process alternating builds, Zen 5); larger tiles for fewer channels lost
// 1-6%.
constexpr long kPairTileFloats = 1L << 16, kPairTilePixels = 256;

bool depthwisePointwise(const float* x, const float* dwW, const Epilogue& dwEp, const Geom& g, const float* pwPacked,
                        long outC, float* y, long ldy, const Epilogue& pwEp) {
  const DwKernels& k = dwKernels();
  const ForwardRowFn row = dw_portable::dwFits3x3(g) ? k.forwardRow3x3 : k.forwardRow;
  const long C = g.c, rows = g.n * g.oh, rowSize = g.ow * C;
  const long tileRows = maxl(1, minl(rows, maxl(kPairTileFloats, kPairTilePixels * C) / rowSize));
  const PrepackedPanels pw(pwPacked, C, gemmKernel().nr);
  const bool stream = streamOutput(rows * g.ow * ldy);  // the whole output, not a tile of it (gemm.h)
  std::atomic<bool> ok{true};
  // Threads own output rows, as in depthwiseConv2dEx; each takes its rows a tile at a time. The GEMM, called
  // inside the parallel region, runs on the calling thread (threadpool.h) with its own workspace; its sums do
  // not depend on which rows share a call (gemm.h), so the pair gives the bits of the two layers apart.
  parallel(threadsFor(rows * g.ow * (tapWork(g) + C * outC), kGrain), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    thread_local Scratch tileBuf;
    float* tile = tileBuf.floats(static_cast<size_t>(tileRows * rowSize));
    if (!tile) {
      ok = false;
      return;
    }
    for (long r = r0; r < r1; r += tileRows) {
      const long n = minl(tileRows, r1 - r);
      for (long i = 0; i < n; ++i) row(x, dwW, tile + i * rowSize, g, (r + i) / g.oh, (r + i) % g.oh, &dwEp);
      Epilogue ep = pwEp.rows(r * g.ow);
      ep.stream = stream;
      if (!gemm(StridedPanels(tile, C, 1), pw, n * g.ow, outC, C, y + r * g.ow * ldy, ldy, false, &ep)) ok = false;
    }
  });
  return ok;
}

// dx of a 3x3 stride-1 layer is the forward pass over dy with the kernel turned half a turn and each side's
// padding p replaced by 2 - p (dx[iy][ix] = sum dy[iy + padTop - ky][ix + padLeft - kx] w[ky][kx]), so it takes
// the forward row kernel: on Zen 5, batch 8, in one process alternating, 112x112x32 1.13 against 3.65 ms by the
// general gather, 56x56x128 1.35 against 1.89, 14x14x512 0.20 against 0.23. Its sums run over the taps in the
// forward's order, (ky, kx) descending.
static bool backpropInput3x3(const float* dy, const float* w, float* dx, const Geom& g) {
  Geom t = g;
  t.h = g.oh;
  t.w = g.ow;
  t.oh = g.h;
  t.ow = g.w;
  t.padTop = 2 - g.padTop;
  t.padBottom = 2 - g.padBottom;
  t.padLeft = 2 - g.padLeft;
  t.padRight = 2 - g.padRight;
  const long C = g.c;
  thread_local Scratch flipBuf;
  float* flipped = flipBuf.floats(static_cast<size_t>(9 * C));
  if (!flipped) return false;
  for (long tap = 0; tap < 9; ++tap) std::memcpy(flipped + tap * C, w + (8 - tap) * C, static_cast<size_t>(C) * sizeof(float));
  return depthwiseConv2dEx(dy, flipped, dx, t, nullptr);
}

bool depthwiseConv2dBackpropInput(const float* dy, const float* w, float* dx, const Geom& g) {
  if (dw_portable::dwFits3x3(g) && g.sh == 1 && g.sw == 1 && g.padTop <= 2 && g.padBottom <= 2 && g.padLeft <= 2 &&
      g.padRight <= 2) {
    return backpropInput3x3(dy, w, dx, g);
  }
  const DwKernels& k = dwKernels();
  // Stride 2: each dx pixel has 1, 2 or 4 taps by its parity, which the general gather found tap by tap (on
  // Zen 5, in one process alternating: 8x112x112x64 1.84 -> 1.44 ms, at memory bandwidth; 1x112x112x64 0.14 ->
  // 0.05).
  const RowFn row = dw_portable::dwFits3x3(g) && g.sh == 2 && g.sw == 2 ? k.backpropInputRow3x3s2 : k.backpropInputRow;
  const long rows = g.n * g.h;
  parallel(threadsFor(rows * g.w * tapWork(g), kGrain), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    for (long r = r0; r < r1; ++r) row(dy, w, dx, g, r / g.h, r % g.h);
  });
  return true;
}

bool depthwiseConv2dBackpropFilter(const float* x, const float* dy, float* dw, const Geom& g) {
  const DwKernels& k = dwKernels();
  const long rows = g.n * g.oh, size = tapWork(g);
  const long work = rows * g.ow * size;
  // The 3x3 rows keep their 9 sums per channel vector in registers along a row (depthwise_3x3.inc): on Zen 5,
  // batch 8, in one process alternating, 112x112x32 2.86 -> 1.06 ms, 56x56x128 1.88 -> 1.37, 14x14x512 0.31 ->
  // 0.24. Same blocks, same block order: the bits still do not depend on the thread count.
  const bool fast3x3 = dw_portable::dwFits3x3(g);
  const long blocks = maxl(1, minl(minl(32, rows), work / (1L << 18)));
  thread_local Scratch partialBuf;
  float* partial = partialBuf.floats(static_cast<size_t>(blocks * size));
  if (!partial) return false;
  parallel(threadsFor(work, kGrain), [&](int tid, int nt) {
    long b0, b1;
    splitRange(blocks, nt, tid, &b0, &b1);
    for (long blk = b0; blk < b1; ++blk) {
      float* acc = partial + blk * size;
      std::memset(acc, 0, static_cast<size_t>(size) * sizeof(float));
      long r0, r1;
      splitRange(rows, blocks, blk, &r0, &r1);
      (fast3x3 ? k.backpropFilterRows3x3 : k.backpropFilterRows)(x, dy, acc, g, r0, r1);
    }
  });
  parallel(threadsFor(blocks * size, kGrain), [&](int tid, int nt) {
    long i0, i1;
    splitRange(size, nt, tid, &i0, &i1);
    for (long i = i0; i < i1; ++i) {
      float s = partial[i];
      for (long blk = 1; blk < blocks; ++blk) s += partial[blk * size + i];
      dw[i] = s;
    }
  });
  return true;
}

}  // namespace ck
