// The GEMM's operands: how A and B are packed into the microkernel's panels or located in place for it
// (Panelizer's matrix forms: StridedPanels, PrepackedPanels, and B packed ahead by gemmPack), and the
// zeros that padded rows and taps read. The driver that uses them is gemm.cc.
#include <cstring>

#include "gemm.h"
#include "interleave.h"
#include "threadpool.h"

namespace ck {

const float* zeros(size_t count) {
  thread_local Scratch buf;
  thread_local size_t zeroed = 0;
  // Never less than kMinZeros: a request that small never moves the buffer, so the pointer a Panelizer took
  // (conv.cc: zeros(c)) stays valid when gemm's worker on the same thread asks for its own (KC floats).
  count = count < kMinZeros ? kMinZeros : count;
  float* p = buf.floats(count);
  if (!p) return nullptr;
  if (count > zeroed) {
    // Scratch may have moved; clear all of it once. The buffer is never written afterwards.
    std::memset(p, 0, count * sizeof(float));
    zeroed = count;
  }
  return p;
}

namespace {

constexpr int kMaxPanel = 32;  // widest panel of any ISA (avx512 NR)

void packRowsAny(float* __restrict dst, const float* src, long rs, long ds, long depth, int width, long real) {
  for (long d = 0; d < depth; ++d) {
    float* out = dst + d * width;
    long i = 0;
    for (; i < real; ++i) out[i] = src[i * rs + d * ds];
    for (; i < width; ++i) out[i] = 0.0f;
  }
}

// Floats per cache line, and how many depth steps ahead StridedPanels::pack asks for a strided step.
constexpr long kLineFloats = 16, kPackAhead = 32;

}  // namespace

void StridedPanels::pack(float* dst, long r0, long rows, long d0, long depth, int width) const {
  if (rs == 1) {
    // The rows are adjacent in memory (B not transposed, A transposed): each depth step is one contiguous run of
    // `rows` floats, copied into every panel in one pass (a pointwise filter gradient's x^T had been read once
    // per 12-row panel: MobileNet's 56x56x128 -> 128 at batch 8 0.80 of the time, alternating builds). Depth
    // steps a line or more apart are asked for kPackAhead steps early: pointwise filter gradients pack x^T and
    // dy^T this way, a line per pixel from memory. In a slow phase of the VM's memory the hardware did not keep
    // up with the stride (alternating in one process, cache flushed before each call: 8x56x56x128 -> 128 7.2 ->
    // 3.6 ms, 32x32x32x64 -> 64 3.5 -> 1.9, Inception10's 8x8x128 -> 32 at batch 128 0.72 -> 0.50; 16 steps ahead
    // did less); with the memory fast, level (3.82 / 3.83 ms).
    const long panels = ceilDiv(rows, width);
    const float* base = p + r0 + d0 * ds;
    const bool fetch = ds >= kLineFloats;
    for (long d = 0; d < depth; ++d) {
      const float* src = base + d * ds;
      if (fetch)
        for (long i = 0; i < rows; i += kLineFloats) __builtin_prefetch(src + kPackAhead * ds + i);
      for (long q = 0; q < panels; ++q) {
        const long real = minl(width, rows - q * width);
        float* out = dst + (q * depth + d) * width;
        copyRun(out, src + q * width, real);
        for (long i = real; i < width; ++i) out[i] = 0.0f;
      }
    }
    return;
  }
  for (long q = 0; q < rows; q += width, dst += depth * width) {
    const long real = minl(width, rows - q);
    const float* base = p + (r0 + q) * rs + d0 * ds;
    if (ds == 1 && width <= kMaxPanel) {
      // Rows contiguous in depth (A not transposed, B transposed): a transpose of `width` rows, the rows past
      // the matrix's last read from zeros. (Element by element, the B^T panels of a dense layer's input
      // gradient, 16 x 120 x 400, cost more than its product.)
      // zeros() of at most kMinZeros never moves its buffer, which a caller's Panelizer may point into.
      const float* zero = real < width && depth <= static_cast<long>(kMinZeros) ? zeros(kMinZeros) : nullptr;
      if (real < width && !zero) {
        packRowsAny(dst, base, rs, ds, depth, width, real);
        continue;
      }
      const float* rows[kMaxPanel];
      for (int i = 0; i < width; ++i) rows[i] = i < real ? base + i * rs : zero;
      interleaveRows(dst, rows, depth, width);
    } else {
      packRowsAny(dst, base, rs, ds, depth, width, real);
    }
  }
}

void PrepackedPanels::pack(float* dst, long r0, long rows, long d0, long depth_, int width) const {
  // Not on the GEMM's path (it reads the blocks in place); element by element for any other reader.
  for (long q = 0; q < rows; q += width, dst += depth_ * width)
    for (long d = 0; d < depth_; ++d)
      for (long i = 0; i < width; ++i) {
        const long r = r0 + q + i;
        dst[d * width + i] = q + i < rows ? p[((r / nr) * depth + d0 + d) * nr + r % nr] : 0.0f;
      }
}

// dst = src^T for rows [i0, i1) x columns [j0, j1) of src (element (i, j) at src[i lds + j], written to
// dst[j ldd + i]). 4 x 4 blocks go through SSE transposes (baseline x86-64): element by element, the dw^T -> dw
// transpose of a 512-channel 3x3 layer was 18% of its filter gradient.
void transposeBlock(const float* __restrict src, long lds, float* __restrict dst, long ldd, long i0, long i1, long j0,
                    long j1) {
  long i = i0;
#if defined(__SSE2__)
  for (; i + 4 <= i1; i += 4) {
    long j = j0;
    for (; j + 4 <= j1; j += 4) {
      __m128 r0 = _mm_loadu_ps(src + i * lds + j), r1 = _mm_loadu_ps(src + (i + 1) * lds + j);
      __m128 r2 = _mm_loadu_ps(src + (i + 2) * lds + j), r3 = _mm_loadu_ps(src + (i + 3) * lds + j);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(dst + j * ldd + i, r0);
      _mm_storeu_ps(dst + (j + 1) * ldd + i, r1);
      _mm_storeu_ps(dst + (j + 2) * ldd + i, r2);
      _mm_storeu_ps(dst + (j + 3) * ldd + i, r3);
    }
    for (; j < j1; ++j)
      for (long k = i; k < i + 4; ++k) dst[j * ldd + k] = src[k * lds + j];
  }
#endif
  for (long j = j0; j < j1; ++j)
    for (long k = i; k < i1; ++k) dst[j * ldd + k] = src[k * lds + j];
}

// dst [cols, rows] = src [rows, cols]^T in 32 x 32 tiles, threads over column tiles (a pure copy, so the
// split cannot change the result). The straightforward loop read one column per output row: a cache miss
// per element for the 512-channel kernels of ResNet18 (~10 ms per call, single-threaded).
void transpose(const float* __restrict src, long rows, long cols, float* __restrict dst) {
  constexpr long T = 32;
  const long tiles = ceilDiv(cols, T);
  parallel(threadsFor(rows * cols, 1 << 16), [&](int tid, int nt) {
    long t0, t1;
    splitRange(tiles, nt, tid, &t0, &t1);
    for (long i0 = 0; i0 < rows; i0 += T)
      for (long j0 = t0 * T; j0 < minl(cols, t1 * T); j0 += T)
        transposeBlock(src, cols, dst, rows, i0, minl(rows, i0 + T), j0, minl(cols, j0 + T));
  });
}

long gemmPackedSize(long n, long k) {
  const long nr = gemmKernel().nr;
  return ceilDiv(n, nr) * nr * k;
}

void gemmPack(const float* b, long n, long k, float* dst) {
  // B [k, n] as n rows of depth k: rows adjacent in memory, one contiguous run per depth step and panel.
  StridedPanels(b, 1, n).pack(dst, 0, n, 0, k, gemmKernel().nr);
}

constexpr long kMaxUses = 4;

long StridedPanels::segments(long d0, long depth, long maxSegs, long uses) const {
  (void)d0, (void)depth;
  // Rows contiguous in depth (A not transposed). The packed panel is one stream instead of MR; over 8 column
  // panels (1x1 128 -> 128) that won by 6%, over 4 or fewer reading in place won by 6-23% (A/B, pointwise).
  return ds == 1 && maxSegs >= 1 && uses <= kMaxUses ? 1 : 0;
}

void StridedPanels::locate(const float** ptrs, long* lens, long r0, long rows, long d0, long depth, int width,
                           const float* zero) const {
  lens[0] = depth;
  const long panels = ceilDiv(rows, width);
  for (long i = 0; i < panels * width; ++i) ptrs[i] = i < rows ? p + (r0 + i) * rs + d0 : zero;
}

bool StridedPanels::locateColumns(const float** ptrs, long r0, long rows, long d0, long depth, int width,
                                  const float* zero) const {
  (void)zero;
  // A panel's rows adjacent in memory (B not transposed): each depth step is one run. Whole panels only, so
  // that no run reaches past the matrix.
  if (rs != 1 || r0 % width != 0 || rows % width != 0) return false;
  for (long q = r0; q < r0 + rows; q += width, ptrs += depth)
    for (long d = 0; d < depth; ++d) ptrs[d] = p + q + (d0 + d) * ds;
  return true;
}

}  // namespace ck
