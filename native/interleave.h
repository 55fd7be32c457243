// Packing helpers. Interleaving A panels: `width` rows, each contiguous in depth, interleaved into one depth-major panel,
// dst[q * width + i] = src[i][q]. This is a transpose; done element by element it cost about a third of a
// convolution's time, so blocks of 4 rows x 4 depth steps go through SSE 4x4 transposes (baseline x86-64,
// no dispatch needed). Other architectures use the scalar loop.
#pragma once

#include "common.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace ck {

inline void interleaveScalar(float* __restrict dst, const float* const* src, long q0, long run, int width) {
  for (long q = q0; q < run; ++q)
    for (int i = 0; i < width; ++i) dst[q * width + i] = src[i][q];
}

// WIDTH is a panel width of some ISA (MR: 6 or 12; NR: 16 or 32 for B^T).
template <int WIDTH>
inline void interleave(float* __restrict dst, const float* const* src, long run) {
  long q = 0;
#if defined(__SSE2__)
  static_assert(WIDTH % 2 == 0, "rows are taken four, then two, at a time");
  for (; q + 4 <= run; q += 4) {
    float* out = dst + q * WIDTH;
    int i = 0;
    for (; i + 4 <= WIDTH; i += 4) {
      __m128 r0 = _mm_loadu_ps(src[i] + q), r1 = _mm_loadu_ps(src[i + 1] + q);
      __m128 r2 = _mm_loadu_ps(src[i + 2] + q), r3 = _mm_loadu_ps(src[i + 3] + q);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);  // r_j now holds depth step q + j of rows i..i+3
      _mm_storeu_ps(out + i, r0);
      _mm_storeu_ps(out + WIDTH + i, r1);
      _mm_storeu_ps(out + 2 * WIDTH + i, r2);
      _mm_storeu_ps(out + 3 * WIDTH + i, r3);
    }
    if (i < WIDTH) {  // the last two rows
      const __m128 a = _mm_loadu_ps(src[i] + q), b = _mm_loadu_ps(src[i + 1] + q);
      const __m128 lo = _mm_unpacklo_ps(a, b), hi = _mm_unpackhi_ps(a, b);  // (a0 b0 a1 b1), (a2 b2 a3 b3)
      _mm_storel_pi(reinterpret_cast<__m64*>(out + i), lo);
      _mm_storeh_pi(reinterpret_cast<__m64*>(out + WIDTH + i), lo);
      _mm_storel_pi(reinterpret_cast<__m64*>(out + 2 * WIDTH + i), hi);
      _mm_storeh_pi(reinterpret_cast<__m64*>(out + 3 * WIDTH + i), hi);
    }
  }
#endif
  interleaveScalar(dst, src, q, run, WIDTH);
}

// Dispatch on the runtime panel width; widths without a specialisation take the scalar loop.
inline void interleaveRows(float* __restrict dst, const float* const* src, long run, int width) {
  switch (width) {
    case 6: interleave<6>(dst, src, run); break;
    case 8: interleave<8>(dst, src, run); break;
    case 12: interleave<12>(dst, src, run); break;
    case 16: interleave<16>(dst, src, run); break;
    case 32: interleave<32>(dst, src, run); break;  // B^T panels of the avx512 GEMM (NR = 32)
    default: interleaveScalar(dst, src, 0, run, width);
  }
}

template <int N>
inline void copyFixed(float* __restrict out, const float* __restrict src) {
  if (src) std::memcpy(out, src, N * sizeof(float));  // constant size: inlined vector moves, no libc call
  else std::memset(out, 0, N * sizeof(float));
}

// out[0, n) = src[0, n), or zeros when src is null. Panel-width copies are the inner step of packing, too
// short for a call to memcpy to pay off.
inline void copyRun(float* __restrict out, const float* __restrict src, long n) {
  switch (n) {
    case 6: copyFixed<6>(out, src); return;
    case 8: copyFixed<8>(out, src); return;
    case 12: copyFixed<12>(out, src); return;
    case 16: copyFixed<16>(out, src); return;
    case 32: copyFixed<32>(out, src); return;
    default:
      if (src) std::memcpy(out, src, n * sizeof(float));
      else std::memset(out, 0, n * sizeof(float));
  }
}

}  // namespace ck
