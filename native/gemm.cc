// The SGEMM driver: splits C among threads, blocks each thread's part for the caches, packs, and calls the
// active ISA's macrokernel (gemm_kernels.cc).
#include "gemm.h"

#include <atomic>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "gemm_small.h"
#include "interleave.h"
#include "kernels.h"
#include "threadpool.h"

namespace ck {

namespace {

// relu / relu6 in place, 4 lanes at a time. max(0, v) and min(6, v) with v as the second operand: maxps/minps
// return the second operand when either is NaN or both are equal, so NaN passes through and -0 stays -0, as
// `v < 0 ? 0 : v` gives (the reference). Written as a conditional in place, GCC turned the loop into a
// conditional store with a branch per value: on random signs the mispredictions made MobileNet's fused
// epilogues 5x slower than separate vectorised passes.
inline void clipInPlace(float* p, long n, bool six) {
  long i = 0;
#if defined(__SSE2__)
  const __m128 zero = _mm_setzero_ps(), hi = _mm_set1_ps(6.0f);
  for (; i + 4 <= n; i += 4) {
    __m128 v = _mm_max_ps(zero, _mm_loadu_ps(p + i));
    if (six) v = _mm_min_ps(hi, v);
    _mm_storeu_ps(p + i, v);
  }
#endif
  for (; i < n; ++i) {
    const float v = p[i] < 0.0f ? 0.0f : p[i];
    p[i] = six && v > 6.0f ? 6.0f : v;
  }
}

}  // namespace

void applyEpilogue(const Epilogue& ep, float* c, long ldc, long rows, long j0, long j1) {
  const long n = j1 - j0;
  if (ep.addend) {
    // (c + bias) + addend, the order of a bias add followed by the residual sum.
    for (long i = 0; i < rows; ++i) {
      float* __restrict row = c + i * ldc + j0;
      const float* __restrict s = ep.addend + i * ep.ldAdd + j0;
      if (ep.bias) {
        const float* __restrict b = ep.bias + j0;
        for (long j = 0; j < n; ++j) row[j] = (row[j] + b[j]) + s[j];
      } else {
        for (long j = 0; j < n; ++j) row[j] += s[j];
      }
    }
  } else if (ep.bias) {
    for (long i = 0; i < rows; ++i) {
      float* __restrict row = c + i * ldc + j0;
      const float* __restrict b = ep.bias + j0;
      for (long j = 0; j < n; ++j) row[j] += b[j];
    }
  }
  if (ep.act == Act::Linear) return;
  // Rows back to back (a whole dense output): one call over all of them, not one per row (LeNet's 6-channel
  // sigmoid convolution paid a dispatch per 6 values).
  const bool contiguous = ldc == n;
  for (long i = 0; i < (contiguous ? 1 : rows); ++i) {
    float* row = c + i * ldc + j0;
    const long len = contiguous ? rows * n : n;
    switch (ep.act) {
      case Act::Relu: clipInPlace(row, len, false); break;
      case Act::Relu6: clipInPlace(row, len, true); break;
      // Nested inside a parallel region, activation() runs on this thread (threadpool.h).
      default: activation(ep.act, row, row, len); break;
    }
  }
}

// Rows the caller's kernel will overwrite before it reads them as its addend (gemm.h).
const float* copyAddend(const Epilogue& ep, long rows, long cols) {
  thread_local Scratch buf;
  float* dst = buf.floats(static_cast<size_t>(rows * cols));
  if (!dst) return nullptr;
  for (long i = 0; i < rows; ++i)
    std::memcpy(dst + i * cols, ep.addend + i * ep.ldAdd, static_cast<size_t>(cols) * sizeof(float));
  return dst;
}

namespace {

constexpr long kMaxSegments = 24;  // segments of an A block read in place (Panelizer::segments)
constexpr long kWholeDepth = static_cast<long>(kMinZeros);  // a 3x3 convolution of 512 channels: see runPiece
constexpr long kWholeDepthPacked = 1024;  // the same for an A block that is packed (runPiece)

// One piece of C that one thread computes on its own: rows [m0, m1), columns [n0, n1), depth [k0, k1).
struct Piece {
  long m0, m1, n0, n1, k0, k1;
  float* c;  // C [.., ldc], indexed with global row/column numbers
  long ldc;
  bool accumulate;
  long n;  // C's columns (all pieces'): what the choice of depth blocks may depend on, never the split
};

// B blocks of at most this many floats (1 MiB) are packed for the whole depth at once when C has several MC
// blocks of rows (resident order, runPiece).
constexpr long kResidentB = 1L << 18;
// ... and C blocks (MC x NC) of at most this many (384 KiB), which then stay in L2 across the depth blocks.
constexpr long kResidentC = 96L * 1024;

// Whether runPiece takes the resident order for a piece of `rows` x nc over `depth`.
bool residentOrder(const GemmKernel& gk, long rows, long nc, long depth) {
  const long ncr = ceilDiv(nc, gk.nr) * gk.nr;
  return rows > gk.mc && depth > gk.kc && ncr * depth <= kResidentB && gk.mc * ncr <= kResidentC;
}

// With B packed ahead and A read in place (a plan's convolutions), the whole depth is one block up to
// kWholeDepth: each C tile then sums every tap in registers and is stored once, with its epilogue, as ONNX
// Runtime's direct NCHWc kernels do; its B panel (K x NR, up to 576 KiB) streams from L2 instead of L1. Per-
// call alternation against ONNX Runtime on the same layers (1 thread): 16x16x128 and 8x8x256 3x3 at batch 1
// 0.97-0.99 -> 1.05-1.08 of its speed; ResNet18 at batch 32 0.89-0.90 -> 0.95-0.96, VGG16 1.07 -> 1.13.
// Neither operand is packed here, so no workspace grows with KC. Decided by C's shape, not by this piece's
// columns, so the sums (and their bits) do not depend on the thread count; a piece has no more column
// panels than C, so A is read in place in every block of it.
// An A that is packed (a pointwise convolution over many column panels) takes the whole depth too up to
// kWholeDepthPacked, its block then 144 x 1024 floats at most: MobileNet's plan, in one process alternating,
// 14x14x512 -> 512 pairs at batch 32 1-3% faster, the whole plan at batch 1 3.35 -> 3.27 ms; AlexNet8,
// ResNet18 and Inception10 level.
bool wholeDepthFor(const GemmKernel& gk, const Panelizer& a, const Panelizer& b, long n, long k0, long depth) {
  long full = 0;
  return b.prepacked(&full) && depth <= kWholeDepth &&
         (depth <= kWholeDepthPacked || a.segments(k0, depth, kMaxSegments, ceilDiv(minl(gk.nc, n), gk.nr)) > 0);
}

// Loop order of BLIS: NC columns of B, KC depth, MC rows of A, then the macrokernel. Where B's block for the
// whole depth is small (resident order: N x K of at most 1 MiB, a pointwise convolution of up to 512 -> 512
// channels), it is packed once for every depth block, and the MC loop goes outside the KC loop: a C block then
// takes its depth blocks while it stays in L2, instead of going back to memory between them (MobileNet's
// 14x14x512 -> 512 at batch 32: 6 MiB of C per thread read and written once per depth block). Each C value
// still adds its depth blocks in order: the same bits either way.
// packA: [MC rounded up to MR][KC, or with B packed ahead the whole depth up to kWholeDepthPacked]; packB:
// [NC rounded up to NR][KC], or [depth blocks][NC rounded][KC] in the resident order (sized by the caller).
// An A block read in place needs, instead of packA, row pointers: [MC / MR][kMaxSegments][MR], and zeros.
// A B block read in place needs column pointers: [NC / NR][KC].
void runPiece(const GemmKernel& gk, const Panelizer& a, const Panelizer& b, const Piece& pc, float* packA,
              float* packB, const float** rowPtrs, const float** colPtrs, const float* zero, const Epilogue* ep) {
  long lens[kMaxSegments];
  // C rows [ic, ic + mc) x columns [jc, jc + nc) over depth [kk, kk + kc), B's block packed at pb with column
  // panels pbs floats apart (or read in place through colPtrs).
  auto block = [&](long ic, long mc, long jc, long nc, long kk, long kc, const float* pb, long pbs, bool bInPlace) {
    const bool accumulate = pc.accumulate || kk > pc.k0;
    const long nseg = bInPlace ? 0 : a.segments(kk, kc, kMaxSegments, ceilDiv(nc, gk.nr));
    // The epilogue goes into the microkernel's store on the last depth block where it is a clip (the zoo's
    // activations); sigmoid / tanh stay a pass over the block after it.
    const bool last = ep && kk + kc >= pc.k1;
    const bool fused = last && isClip(ep->act);
    const float* bias = fused && ep->bias ? ep->bias + jc : nullptr;
    const Act act = fused ? ep->act : Act::Linear;
    const float* addend = fused && ep->addend ? ep->addend + ic * ep->ldAdd + jc : nullptr;
    const long ldAdd = ep ? ep->ldAdd : 0;
    // Stored past the caches only when this is C's one and final store.
    const bool stream = fused && ep->stream && !accumulate;
    float* c = pc.c + ic * pc.ldc + jc;
    if (bInPlace) {
      a.pack(packA, ic, mc, kk, kc, gk.mr);
      gk.macroGatherB(mc, nc, kc, packA, colPtrs, c, pc.ldc, accumulate, bias, act, addend, ldAdd, stream);
    } else if (nseg > 0) {
      a.locate(rowPtrs, lens, ic, mc, kk, kc, gk.mr, zero);
      gk.macroIndirect(mc, nc, kc, rowPtrs, lens, nseg, zero, pb, pbs, c, pc.ldc, accumulate, bias, act, addend, ldAdd, stream);
    } else {
      a.pack(packA, ic, mc, kk, kc, gk.mr);
      gk.macro(mc, nc, kc, packA, pb, pbs, c, pc.ldc, accumulate, bias, act, addend, ldAdd, stream);
    }
    if (last && !fused) applyEpilogue(ep->rows(ic), pc.c + ic * pc.ldc, pc.ldc, mc, jc, jc + nc);
  };
  const long depth = pc.k1 - pc.k0;
  // B packed ahead for its whole depth (an inference plan's weights): block (jc, kk) is read where it lies.
  long fullDepth = 0;
  const float* ahead = b.prepacked(&fullDepth);
  const bool wholeDepth = wholeDepthFor(gk, a, b, pc.n, pc.k0, depth);
  // Otherwise equal depth blocks: K = 576 as 3 x 192, not 256 + 256 + 64 (a short block pays a tile's C
  // traffic for a quarter of the arithmetic).
  const long kcEven = wholeDepth ? depth : ceilDiv(depth, ceilDiv(depth, gk.kc));
  for (long jc = pc.n0; jc < pc.n1; jc += gk.nc) {
    const long nc = minl(gk.nc, pc.n1 - jc), ncr = ceilDiv(nc, gk.nr) * gk.nr;
    if (ahead) {
      const float* base = ahead + (jc / gk.nr) * fullDepth * gk.nr;
      const long pbs = fullDepth * gk.nr;
      if (residentOrder(gk, pc.m1 - pc.m0, nc, depth)) {
        for (long ic = pc.m0; ic < pc.m1; ic += gk.mc)
          for (long kk = pc.k0; kk < pc.k1; kk += kcEven)
            block(ic, minl(gk.mc, pc.m1 - ic), jc, nc, kk, minl(kcEven, pc.k1 - kk), base + kk * gk.nr, pbs, false);
      } else {
        for (long kk = pc.k0; kk < pc.k1; kk += kcEven)
          for (long ic = pc.m0; ic < pc.m1; ic += gk.mc)
            block(ic, minl(gk.mc, pc.m1 - ic), jc, nc, kk, minl(kcEven, pc.k1 - kk), base + kk * gk.nr, pbs, false);
      }
      continue;
    }
    if (residentOrder(gk, pc.m1 - pc.m0, nc, depth)) {
      for (long kk = pc.k0; kk < pc.k1; kk += kcEven) b.pack(packB + (kk - pc.k0) * ncr, jc, nc, kk, minl(kcEven, pc.k1 - kk), gk.nr);
      for (long ic = pc.m0; ic < pc.m1; ic += gk.mc)
        for (long kk = pc.k0; kk < pc.k1; kk += kcEven) {
          const long kc = minl(kcEven, pc.k1 - kk);
          block(ic, minl(gk.mc, pc.m1 - ic), jc, nc, kk, kc, packB + (kk - pc.k0) * ncr, kc * gk.nr, false);
        }
      continue;
    }
    for (long kk = pc.k0; kk < pc.k1; kk += kcEven) {
      const long kc = minl(kcEven, pc.k1 - kk);
      const bool bInPlace = pc.m1 - pc.m0 <= b.inPlaceRows() && b.locateColumns(colPtrs, jc, nc, kk, kc, gk.nr, zero);
      if (!bInPlace) b.pack(packB, jc, nc, kk, kc, gk.nr);
      for (long ic = pc.m0; ic < pc.m1; ic += gk.mc)
        block(ic, minl(gk.mc, pc.m1 - ic), jc, nc, kk, kc, packB, kc * gk.nr, bInPlace);
    }
  }
}

// Depth segments for a small C with a long reduction (weight gradients: C is the kernel, k is every output
// pixel of the batch): otherwise only a handful of tiles exist to share among threads. A function of the
// shape alone, so the summation order never depends on the thread count.
// An even count: the pieces are whole segments, and 3 of them left one of two threads idle for a third of the
// time (MobileNet's 28x28x256 -> 256 filter gradient at batch 8, K = 6272: 2.9-3.2 -> 2.1-2.5 ms as 4).
long depthSegments(long m, long n, long k) {
  if (static_cast<double>(m) * n > 256.0 * 256.0 || k < 4096) return 1;
  return (minl(16, k / 2048) + 1) / 2 * 2;
}

struct Plan {
  long segments, parts;
  bool splitRows;  // parts split M (else N)
};

}  // namespace

bool gemm(const Panelizer& a, const Panelizer& b, long m, long n, long k, float* c, long ldc, bool accumulate,
          const Epilogue* ep) {
  if (m <= 0 || n <= 0) return true;
  if (k <= 0) {
    if (!accumulate)
      for (long i = 0; i < m; ++i) std::memset(c + i * ldc, 0, n * sizeof(float));
    if (ep) applyEpilogue(*ep, c, ldc, m, 0, n);
    return true;
  }
  const GemmKernel& gk = gemmKernel();
  const int nt = threadsFor(static_cast<long>(static_cast<double>(m) * n * k / 1e5), 4);

  Plan plan;
  plan.segments = depthSegments(m, n, k);
  const long rowUnits = ceilDiv(m, gk.mr), colUnits = ceilDiv(n, gk.nr);
  plan.splitRows = rowUnits >= colUnits;
  plan.parts = plan.segments >= nt ? 1 : minl(nt, plan.splitRows ? rowUnits : colUnits);

  // An addend that is C itself (gemm.h) is read by each tile right before its only store, or copied first.
  Epilogue copied;
  if (ep && ep->addend && ep->addend == c) {
    const bool once = plan.segments == 1 && isClip(ep->act) && (k <= gk.kc || wholeDepthFor(gk, a, b, n, 0, k));
    if (!once) {
      const float* saved = copyAddend(*ep, m, n);
      if (!saved) return false;
      copied = Epilogue{ep->bias, ep->act, saved, n};
      ep = &copied;
    }
  }

  // Segment s > 0 writes a partial product that is added in order afterwards; segment 0 writes C.
  float* partials = nullptr;
  if (plan.segments > 1) {
    thread_local Scratch partialBuf;
    partials = partialBuf.floats(static_cast<size_t>(plan.segments - 1) * m * n);
    if (!partials) return false;
  }

  std::atomic<bool> ok{true};
  const long pieces = plan.segments * plan.parts;
  parallel(nt, [&](int tid, int nthreads) {
    long first, last;
    splitRange(pieces, nthreads, tid, &first, &last);
    if (first == last) return;
    thread_local Scratch bufA, bufB, bufRows, bufCols;
    const long nMax = minl(gk.nc, plan.splitRows ? n : ceilDiv(colUnits, plan.parts) * gk.nr);
    const long mcRounded = ceilDiv(gk.mc, gk.mr) * gk.mr;
    // The whole depth of a packed A block is only taken with B packed ahead (wholeDepthFor).
    long fullDepth = 0;
    const long kcMax = b.prepacked(&fullDepth) ? maxl(gk.kc, kWholeDepthPacked) : gk.kc;
    float* packA = bufA.floats(static_cast<size_t>(mcRounded * kcMax));
    // The resident order packs B for a piece's whole depth (at most kResidentB floats).
    const long nRounded = ceilDiv(nMax, gk.nr) * gk.nr;
    float* packB = bufB.floats(static_cast<size_t>(nRounded * gk.kc + kResidentB));
    auto rowPtrs = static_cast<const float**>(bufRows.bytes(mcRounded * kMaxSegments * sizeof(float*)));
    auto colPtrs = static_cast<const float**>(bufCols.bytes(ceilDiv(nMax, gk.nr) * gk.kc * sizeof(float*)));
    const float* zero = zeros(static_cast<size_t>(maxl(gk.kc, gk.nr)));
    if (!packA || !packB || !rowPtrs || !colPtrs || !zero) {
      ok = false;
      return;
    }
    for (long id = first; id < last; ++id) {
      const long s = id / plan.parts, part = id % plan.parts;
      Piece pc{0, m, 0, n, 0, 0, c, ldc, accumulate, n};
      splitRange(k, plan.segments, s, &pc.k0, &pc.k1);
      long u0, u1;
      splitRange(plan.splitRows ? rowUnits : colUnits, plan.parts, part, &u0, &u1);
      if (plan.splitRows) {
        pc.m0 = u0 * gk.mr;
        pc.m1 = minl(m, u1 * gk.mr);
      } else {
        pc.n0 = u0 * gk.nr;
        pc.n1 = minl(n, u1 * gk.nr);
      }
      if (pc.m0 >= pc.m1 || pc.n0 >= pc.n1) continue;
      if (s > 0) {
        pc.c = partials + (s - 1) * m * n;
        pc.ldc = n;
        pc.accumulate = false;
      }
      // With depth segments the epilogue waits for their sum.
      runPiece(gk, a, b, pc, packA, packB, rowPtrs, colPtrs, zero, plan.segments > 1 ? nullptr : ep);
    }
#if defined(__SSE2__)
    // Streaming stores are weakly ordered: drained before this thread reports its part done.
    if (ep && ep->stream) _mm_sfence();
#endif
  });
  if (!ok) return false;

  if (plan.segments > 1) {
    parallel(threadsFor(m * n * plan.segments, 1 << 15), [&](int tid, int nthreads) {
      long r0, r1;
      splitRange(m, nthreads, tid, &r0, &r1);
      for (long s = 1; s < plan.segments; ++s) {
        const float* p = partials + (s - 1) * m * n;
        for (long i = r0; i < r1; ++i)
          for (long j = 0; j < n; ++j) c[i * ldc + j] += p[i * n + j];
      }
      if (ep && r1 > r0) applyEpilogue(ep->rows(r0), c + r0 * ldc, ldc, r1 - r0, 0, n);
    });
  }
  return true;
}

bool matmul(const float* a, const float* b, float* out, long m, long k, long n, bool transA, bool transB) {
  // A as m rows of depth k: a[i*k + p], or a[p*m + i] when stored transposed.
  StridedPanels pa(a, transA ? 1 : k, transA ? m : 1);
  // B stored as [k, n] and few rows of out (a dense layer's forward pass at a small batch).
  if (!transB && smallMFits(m, n, k)) return gemmSmallM(pa, b, n, m, n, k, out, n, nullptr);
  // B as n rows of depth k: b[p*n + j], or b[j*k + p] when stored transposed.
  StridedPanels pb(b, transB ? k : 1, transB ? 1 : n);
  return gemm(pa, pb, m, n, k, out, n, false);
}

}  // namespace ck
