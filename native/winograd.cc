// Winograd F(2x2, 3x3) (Lavin and Gray, 2015) for stride-1 3x3 convolutions: each 2x2 block of outputs (a tile)
// reads a 4x4 window d; with U = G g G^T per (input, output) channel pair and V = B^T d B per tile and input
// channel, the tile's outputs are A^T M A with M[q] = sum over input channels of U[q] V[q], q the 16 positions.
// So a layer is 16 GEMMs [tiles, c] x [c, outC] with transforms around them (winograd_tiles.inc): 2.25x fewer
// multiply-adds than the direct GEMM, at the cost of the transforms' passes and a kernel 16/9 the size.
//
// The tiles go in chunks whose V and M (16 x tiles x (c + outC) floats) stay in the last-level cache between
// the passes: the input transform writes V, the 16 GEMMs (gemm.cc, B packed) read V and write M, and the
// output transform reads M and writes y with the epilogue.
//
// Rounding: the transforms add and subtract at most four values twice and halve exactly, so the sums differ
// from the direct GEMM's by a few units in the last place (the native tests hold every path to 1e-4 of the
// float64 reference).
#include "winograd.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "isa.h"
#include "threadpool.h"

#define CK_ISA_FILE "winograd_tiles.inc"
#define CK_ISA_PREFIX wino
#include "per_isa.inc"

namespace ck {
namespace {

using InputFn = void (*)(const float* const*, long, float*, long);
using OutputFn = void (*)(const float*, long, long, float* const*, const float* const*, const float*, Act);
using KernelRowFn = void (*)(const float* const*, long, long, long, float* const*);
using GradFn = void (*)(const float* const*, long, float*, long);
using FilterRowFn = void (*)(const float* const*, long, float* const*);

struct TileKernels {
  InputFn input;
  OutputFn output;
  KernelRowFn kernelRow;
  GradFn grad;
  FilterRowFn filterRow;
};

TileKernels tileKernels() {
#if CK_HAVE_X86_VARIANTS
  switch (activeIsa()) {
    case Isa::Avx512: return {wino_avx512::winogradInputTile, wino_avx512::winogradOutputTile, wino_avx512::winogradKernelRow, wino_avx512::winogradGradTile, wino_avx512::winogradFilterRow};
    case Isa::Avx2: return {wino_avx2::winogradInputTile, wino_avx2::winogradOutputTile, wino_avx2::winogradKernelRow, wino_avx2::winogradGradTile, wino_avx2::winogradFilterRow};
    default: break;
  }
#endif
  return {wino_portable::winogradInputTile, wino_portable::winogradOutputTile, wino_portable::winogradKernelRow, wino_portable::winogradGradTile, wino_portable::winogradFilterRow};
}

// V and M of one chunk of tiles, at most this many floats together (4 MiB): in the last-level cache. (8 MiB
// and 2 MiB ran level, 0.98-1.01, on ResNet18's layers at batch 32.)
constexpr long kChunkFloats = 1L << 20;

// This thread's workspace, shared by the passes (a training step runs them one after another): V and M of a
// chunk and `u`, the transformed kernel or a filter gradient's dU (16 c outC). With a buffer per pass,
// ResNet18's training process had peaked 61 MB higher than before Winograd (at batch 32, 703 -> 780 MB); shared,
// it holds at most 8 MiB of transformed kernel (kBlockUFloats) and 4 MiB.
struct Workspace {
  Scratch v, m, u;
};
Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

// Input channels an input gradient's flipped kernel is gathered for at a time (winogradConvFlipped).
constexpr long kFlipChannels = 16;

// Tiles of 2x2 outputs over g's output (the last row and column of tiles half past an odd edge).
long tileCount(const Geom& g) { return g.n * ((g.oh + 1) / 2) * ((g.ow + 1) / 2); }

// fn(t, img, ty, tx) for the tiles [t0, t0 + nt) of a chunk (t counted from the chunk's first), threads over
// tiles; perTile: the floats each touches, for the thread count.
template <class F>
void forTiles(const Geom& g, long t0, long nt, long perTile, F fn) {
  const long th = (g.oh + 1) / 2, tw = (g.ow + 1) / 2;
  parallel(threadsFor(nt * perTile, 1 << 14), [&](int tid, int nth) {
    long a, b;
    splitRange(nt, nth, tid, &a, &b);
    for (long t = a; t < b; ++t) {
      const long tile = t0 + t;
      fn(t, tile / (th * tw), tile / tw % th, tile % tw);
    }
  });
}

// product(q) for the 16 positions, whole GEMMs per thread: one parallel region instead of 16 (each GEMM,
// called inside it, runs on its thread; its sums do not depend on which). False if any product failed.
template <class F>
bool forPositions(long work, F product) {
  std::atomic<bool> ok{true};
  parallel(threadsFor(work, 1 << 16), [&](int tid, int nth) {
    long q0, q1;
    splitRange(16, nth, tid, &q0, &q1);
    for (long q = q0; q < q1; ++q)
      if (!product(q)) ok = false;
  });
  return ok;
}

// fn(ci) for each of c input channels, threads over them; work: floats in all, for the thread count.
template <class F>
void forChannels(long c, long work, F fn) {
  parallel(threadsFor(work, 1 << 14), [&](int tid, int nth) {
    long c0, c1;
    splitRange(c, nth, tid, &c0, &c1);
    for (long ci = c0; ci < c1; ++ci) fn(ci);
  });
}

// The packed kernel: position q's B operand at dst + q * size, [ceil(outC / nr)][c][nr] as gemmPack lays it out;
// w: [3, 3, c, outC].
// Input channel ci's row of each of the 16 packed B operands = the transform of its 9 tap rows of outC values
// (taps[q]: the row of tap q).
void transformChannel(const float* const* taps, long ci, const Geom& g, float* dst) {
  const long c = g.c, n = g.outC, nr = gemmKernel().nr, size = gemmPackedSize(n, c);
  float* u[16];
  for (int q = 0; q < 16; ++q) u[q] = dst + q * size + ci * nr;
  tileKernels().kernelRow(taps, n, nr, c * nr, u);
}

// g.outC columns of a kernel whose tap rows are ldw floats long (a block of a wider kernel's output channels).
void packTransformed(const float* w, const Geom& g, float* dst, long ldw) {
  const long c = g.c, n = g.outC;
  forChannels(c, c * n * 16, [&](long ci) {
    const float* taps[9];
    for (int q = 0; q < 9; ++q) taps[q] = w + (q * c + ci) * ldw;
    transformChannel(taps, ci, g, dst);
  });
}

// Output channels per block of a training pass (no kernel packed ahead), whose transformed kernel (or dU) would
// otherwise be one workspace of 16 c outC floats: 16.8 MB for a 512-channel layer, held by the process for good
// (ResNet18's training peaked 11-26 MB above its peak without Winograd). Blocks of whole panels, each its own
// product over every tile (the input transform is redone per block: 32 additions per tile and channel against
// 16 x 2 x block for the products), keep it within kBlockUFloats. The same sums in the same order: the same bits.
// On Zen 5, one process alternating builds, 32x4x4x512 -> 512: forward and input gradient level (0.92-1.04),
// filter gradient 0.97-1.03 in blocks of 8 MiB but 1.07-1.14 in blocks of 4 (more, smaller products); ResNet18's
// training step level (1.007), its peak 702-712 -> 692-705 MB (688 without Winograd).
constexpr long kBlockUFloats = 1L << 21;  // 8 MiB

long outputBlock(const Geom& g) {
  const long nr = gemmKernel().nr;
  if (16 * g.c * g.outC <= kBlockUFloats) return g.outC;
  return minl(g.outC, maxl(nr, kBlockUFloats / (16 * g.c) / nr * nr));
}

// The geometry of output channels [n0, n0 + nb) of g (same input, same tiles).
Geom columns(const Geom& g, long nb) {
  Geom b = g;
  b.outC = nb;
  return b;
}

// V of tiles [t0, t0 + nt): [16][nt][c].
void transformInputs(const TileKernels& k, const float* x, const Geom& g, const float* zero, long t0, long nt, float* v) {
  const long c = g.c;
  forTiles(g, t0, nt, 16 * c, [&](long t, long img, long ty, long tx) {
    const float* src[16];
    for (int i = 0; i < 4; ++i) {
      const long iy = 2 * ty - g.padTop + i;
      for (int j = 0; j < 4; ++j) {
        const long ix = 2 * tx - g.padLeft + j;
        src[4 * i + j] = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? x + ((img * g.h + iy) * g.w + ix) * c : zero;
      }
    }
    k.input(src, c, v + t * c, nt * c);
  });
}

// A pass's tiles in chunks of `chunk` (V and M, 16 x chunk x (c + outC) floats, within kChunkFloats), with V and
// M from this thread's workspace and the zeros that windows past the input read. ok false when memory could not
// be had.
struct Chunks {
  long tiles, chunk;
  float *v, *m;
  const float* zero;
  bool ok;
};
// The chunk is the whole layer's (`whole`), also for a block of its output channels: the filter gradient adds
// its chunks in order, so the same chunks give every block the bits of the unblocked gradient.
Chunks chunksFor(const Geom& g, const Geom& whole) {
  Chunks ch;
  ch.tiles = tileCount(g);
  ch.chunk = maxl(1, minl(ch.tiles, kChunkFloats / (16 * (whole.c + whole.outC))));
  Workspace& ws = workspace();
  ch.v = ws.v.floats(static_cast<size_t>(16 * ch.chunk * g.c));
  ch.m = ws.m.floats(static_cast<size_t>(16 * ch.chunk * g.outC));
  ch.zero = zeros(static_cast<size_t>(g.c));
  ch.ok = ch.v && ch.m && ch.zero;
  return ch;
}

}  // namespace

bool winogradEnabled() {
  static const bool on = [] {
    const char* e = std::getenv("CONVKIT_WINOGRAD");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

bool winogradFits(const Geom& g) {
  if (!winogradEnabled()) return false;
  if (g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 || g.depthMultiplier != 1) return false;
  // A window starts at most 2 before the input (the transposed convolution of a `valid` layer's input gradient).
  if (g.padTop < 0 || g.padTop > 2 || g.padLeft < 0 || g.padLeft > 2) return false;
  // Channels: the GEMMs' depth and width. Tiles: enough that the transformed kernel, 16/9 the size of the
  // kernel and read once per chunk, is not the product's cost (batch-1 inference on 4x4 and smaller maps streams
  // its weights: gemm_small.cc; from 16 tiles, VGG16's and ResNet18's 8x8 maps at batch 1 took 0.62-0.82 of the
  // time). Maps under 3x3: the direct GEMM's edge classes already skip the padded taps, 5 of 9 on a 2x2 map
  // (conv_edges.cc), and Winograd's 4 of 9 multiply-adds no longer pay for its transforms (VGG16's 2x2x512
  // layers at batch 128, one process alternating builds: 1.12x the time).
  const long tiles = tileCount(g);
  if (g.c < 16 || g.outC < gemmKernel().nr || g.oh < 3 || g.ow < 3 || tiles < 16) return false;
  // With 8-wide vectors (AVX2, forced on Zen 5), few tiles over a wide kernel lost: 4x4x512 at batch 32 (128
  // tiles) 1.20x the direct GEMM's time, at batch 64 0.81-0.95, 128 0.70-0.81; 4x4x256 at batch 32 0.96. AVX-512
  // took 4x4x512 at batch 32 in 0.68.
  return activeIsa() == Isa::Avx512 || tiles * 1024 >= g.c * g.outC;
}

long winogradPackedSize(const Geom& g) { return 16 * gemmPackedSize(g.outC, g.c); }

void winogradPack(const float* w, const Geom& g, float* dst) { packTransformed(w, g, dst, g.outC); }

namespace {

// The convolution on the transformed, packed kernel u (winogradConv, winogradConvFlipped).
bool convTransformed(const float* x, const float* u, float* y, const Geom& g, long ldy, const Epilogue* ep) {
  const long c = g.c, n = g.outC;
  const Chunks ch = chunksFor(g, g);
  if (!ch.ok) return false;
  const long tiles = ch.tiles, chunk = ch.chunk;
  float *v = ch.v, *m = ch.m;
  const TileKernels k = tileKernels();
  const long usize = gemmPackedSize(n, c);
  const int nr = gemmKernel().nr;
  // Clip activations are applied as the outputs are stored; sigmoid and tanh as a pass after (applyEpilogue).
  const bool inTile = !ep || isClip(ep->act);
  const long rows = g.n * g.oh * g.ow;
  Epilogue after;  // the pass's epilogue; its addend copied first when it is y itself (a plan's residual sum)
  if (!inTile) {
    after = *ep;
    if (ep->addend == y) {
      after.addend = copyAddend(*ep, rows, n);
      after.ldAdd = n;
      if (!after.addend) return false;
    }
  }
  const float* bias = ep ? ep->bias : nullptr;
  const Act act = ep && inTile ? ep->act : Act::Linear;
  for (long t0 = 0; t0 < tiles; t0 += chunk) {
    const long nt = minl(chunk, tiles - t0);
    transformInputs(k, x, g, ch.zero, t0, nt, v);
    const bool ok = forPositions(nt * 16 * c * n, [&](long q) {
      return gemm(StridedPanels(v + q * nt * c, c, 1), PrepackedPanels(u + q * usize, c, nr), nt, n, c, m + q * nt * n, n, false);
    });
    if (!ok) return false;
    forTiles(g, t0, nt, 16 * n, [&](long t, long img, long ty, long tx) {
      float* dst[4];
      const float* add[4];
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
          const long oy = 2 * ty + i, ox = 2 * tx + j, p = (img * g.oh + oy) * g.ow + ox;
          const bool in = oy < g.oh && ox < g.ow;
          dst[2 * i + j] = in ? y + p * ldy : nullptr;
          add[2 * i + j] = in && ep && inTile && ep->addend ? ep->addend + p * ep->ldAdd : nullptr;
        }
      k.output(m + t * n, nt * n, n, dst, add, inTile ? bias : nullptr, act);
    });
  }
  if (inTile) return true;
  parallel(threadsFor(rows * n, 1 << 14), [&](int tid, int nth) {
    long r0, r1;
    splitRange(rows, nth, tid, &r0, &r1);
    if (r1 > r0) applyEpilogue(after.rows(r0), y + r0 * ldy, ldy, r1 - r0, 0, n);
  });
  return true;
}

}  // namespace

bool winogradConv(const float* x, const float* w, const float* packed, float* y, const Geom& g, long ldy, const Epilogue* ep) {
  if (packed) return convTransformed(x, packed, y, g, ldy, ep);
  // A residual addend that is y itself is read by later blocks' tiles after earlier blocks wrote theirs: blocked
  // only without one (the training passes; a plan packs its kernels ahead).
  const long nb = ep && ep->addend == y ? g.outC : outputBlock(g);
  float* u = workspace().u.floats(static_cast<size_t>(winogradPackedSize(columns(g, nb))));
  if (!u) return false;
  for (long n0 = 0; n0 < g.outC; n0 += nb) {
    const Geom gb = columns(g, minl(nb, g.outC - n0));
    packTransformed(w + n0, gb, u, g.outC);
    Epilogue eb;
    if (ep) {
      eb = *ep;
      if (eb.bias) eb.bias += n0;
      if (eb.addend) eb.addend += n0;
    }
    if (!convTransformed(x, u, y + n0, gb, ldy, ep ? &eb : nullptr)) return false;
  }
  return true;
}

bool winogradConvFlipped(const float* dy, const float* w, float* dx, const Geom& g) {
  // The layer's kernel is [3, 3, g.outC, g.c]; this convolution's tap (ky, kx) is its tap (2 - ky, 2 - kx), input
  // and output channels swapped. The transform reads rows of output channels, so each thread gathers its input
  // channels' rows kFlipChannels at a time into a small buffer first (the whole kernel written out flipped had
  // been a second workspace, 9 c outC floats: 9.4 MB beside U for a 512-channel layer, in every training
  // process that ran one).
  const long c = g.c, n = g.outC, nb = outputBlock(g);
  float* u = workspace().u.floats(static_cast<size_t>(winogradPackedSize(columns(g, nb))));
  if (!u) return false;
  const long blocks = ceilDiv(c, kFlipChannels);
  for (long n0 = 0; n0 < n; n0 += nb) {
    const Geom gb = columns(g, minl(nb, n - n0));
    std::atomic<bool> ok{true};
    parallel(threadsFor(c * gb.outC * 16, 1 << 14), [&](int tid, int nth) {
      long b0, b1;
      splitRange(blocks, nth, tid, &b0, &b1);
      if (b0 == b1) return;
      thread_local Scratch rowsBuf;
      float* rows = rowsBuf.floats(static_cast<size_t>(9 * kFlipChannels * gb.outC));  // [tap][channel][block]
      if (!rows) {
        ok = false;
        return;
      }
      for (long b = b0; b < b1; ++b) {
        const long c0 = b * kFlipChannels, bc = minl(kFlipChannels, c - c0);
        // The layer's tap 8 - tap is [n][c]: rows [n0, n0 + block) of its columns [c0, c0 + bc) become rows of
        // the block.
        for (long tap = 0; tap < 9; ++tap)
          transposeBlock(w + ((8 - tap) * n + n0) * c + c0, c, rows + tap * kFlipChannels * gb.outC, gb.outC, 0, gb.outC, 0, bc);
        for (long i = 0; i < bc; ++i) {
          const float* taps[9];
          for (int q = 0; q < 9; ++q) taps[q] = rows + (q * kFlipChannels + i) * gb.outC;
          transformChannel(taps, c0 + i, gb, u);
        }
      }
    });
    if (!ok || !convTransformed(dy, u, dx + n0, gb, n, nullptr)) return false;
  }
  return true;
}

// dU[q] = sum over tiles of V[q]^T dM[q] ([c, outC] each, chunk by chunk in order), dM = A dY A^T; then
// dw = G^T dU G per channel pair.
bool winogradFilterGrad(const float* x, const float* dy, float* dw, const Geom& g) {
  const long c = g.c, n = g.outC, nb = outputBlock(g);
  float* du = workspace().u.floats(static_cast<size_t>(16 * c * nb));
  if (!du) return false;
  const TileKernels k = tileKernels();
  // Output channels [n0, n0 + b) at a time: dU of the block over every chunk of tiles, then its kernel gradient.
  for (long n0 = 0; n0 < n; n0 += nb) {
    const long b = minl(nb, n - n0);
    const Chunks ch = chunksFor(columns(g, b), g);
    if (!ch.ok) return false;
    const long tiles = ch.tiles, chunk = ch.chunk;
    float *v = ch.v, *m = ch.m;
    for (long t0 = 0; t0 < tiles; t0 += chunk) {
      const long nt = minl(chunk, tiles - t0);
      transformInputs(k, x, g, ch.zero, t0, nt, v);
      forTiles(g, t0, nt, 16 * b, [&](long t, long img, long ty, long tx) {
        const float* src[4];
        for (int i = 0; i < 2; ++i)
          for (int j = 0; j < 2; ++j) {
            const long oy = 2 * ty + i, ox = 2 * tx + j;
            src[2 * i + j] = oy < g.oh && ox < g.ow ? dy + ((img * g.oh + oy) * g.ow + ox) * n + n0 : nullptr;
          }
        k.grad(src, b, m + t * b, nt * b);
      });
      // dU[q] (+)= V[q]^T dM[q]: A is V[q] read as c rows of depth nt, B dM[q] as b rows of depth nt.
      const bool ok = forPositions(nt * 16 * c * b, [&](long q) {
        return gemm(StridedPanels(v + q * nt * c, 1, c), StridedPanels(m + q * nt * b, 1, b), c, b, nt, du + q * c * b, b, t0 > 0);
      });
      if (!ok) return false;
    }
    forChannels(c, 16 * c * b, [&](long ci) {
      const float* rows[16];
      float* out[9];
      for (int q = 0; q < 16; ++q) rows[q] = du + (q * c + ci) * b;
      for (int tap = 0; tap < 9; ++tap) out[tap] = dw + (tap * c + ci) * n + n0;
      k.filterRow(rows, b, out);
    });
  }
  return true;
}

}  // namespace ck
