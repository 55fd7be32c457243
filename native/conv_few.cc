// Dispatch of the few-output-channel direct convolution (conv_few.inc) to the active ISA's copy.
#include "conv_few.h"

#include "isa.h"
#include "threadpool.h"

#if CK_HAVE_X86_VARIANTS
#define CK_NS few_avx512
#define CK_TARGET CK_TARGET_AVX512
#define CK_VBYTES 64
#include "conv_few.inc"
#undef CK_NS
#undef CK_TARGET
#undef CK_VBYTES

#define CK_NS few_avx2
#define CK_TARGET CK_TARGET_AVX2
#define CK_VBYTES 32
#include "conv_few.inc"
#undef CK_NS
#undef CK_TARGET
#undef CK_VBYTES
#endif

#define CK_NS few_portable
#define CK_TARGET
#define CK_VBYTES 16
#include "conv_few.inc"
#undef CK_NS
#undef CK_TARGET
#undef CK_VBYTES

namespace ck {
namespace {

using RowsFn = void (*)(const float*, const float*, float*, const Geom&, long, long, int, const float*);
using FilterFn = void (*)(const float*, const float*, const Geom&, long, long, int, float*);

struct FewKernel {
  int width;  // floats per vector
  RowsFn rows;
  FilterFn filter;
};

FewKernel fewKernel() {
#if CK_HAVE_X86_VARIANTS
  switch (activeIsa()) {
    case Isa::Avx512: return {few_avx512::W, few_avx512::fewRows, few_avx512::fewFilter};
    case Isa::Avx2: return {few_avx2::W, few_avx2::fewRows, few_avx2::fewFilter};
    default: break;
  }
#endif
  return {few_portable::W, few_portable::fewRows, few_portable::fewFilter};
}

}  // namespace

int fewOutputsPanel(long outC) {
  const int w = fewKernel().width;
  return outC <= w ? w : outC <= 2 * w ? 2 * w : 0;
}

bool convFewOutputs(const float* x, const float* wp, float* y, const Geom& g) {
  const FewKernel k = fewKernel();
  const int nv = g.outC <= k.width ? 1 : 2;
  const float* zero = zeros(static_cast<size_t>(g.kw * g.c));
  if (!zero) return false;
  const long rows = g.n * g.oh;
  parallel(threadsFor(rows * g.ow * g.kh * g.kw * g.c * nv, 1 << 15), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    if (r0 < r1) k.rows(x, wp, y, g, r0, r1, nv, zero);
  });
  return true;
}

bool convFewOutputsFilter(const float* x, const float* dy, float* dw, const Geom& g) {
  const FewKernel k = fewKernel();
  const int nv = g.outC <= k.width ? 1 : 2, nr = nv * k.width;
  const long M = g.n * g.oh * g.ow, K = g.kh * g.kw * g.c, N = g.outC;
  // Pixel segments fixed by the shape: each gets its own partial sum, added in segment order, so the
  // result is the same for every thread count.
  const long segments = maxl(1, minl(16, M / 1024));
  thread_local Scratch padBuf, partBuf;
  float* dyPad = padBuf.floats(static_cast<size_t>(M * nr));
  float* parts = partBuf.floats(static_cast<size_t>(segments * K * nr));
  if (!dyPad || !parts) return false;
  const int nt = threadsFor(M * K * nv, 1 << 15);
  parallel(nt, [&](int tid, int nthreads) {
    long a, b;
    splitRange(M, nthreads, tid, &a, &b);
    for (long p = a; p < b; ++p)
      for (long j = 0; j < nr; ++j) dyPad[p * nr + j] = j < N ? dy[p * N + j] : 0.0f;
  });
  parallel(nt, [&](int tid, int nthreads) {
    long s0, s1;
    splitRange(segments, nthreads, tid, &s0, &s1);
    for (long s = s0; s < s1; ++s) {
      long p0, p1;
      splitRange(M, segments, s, &p0, &p1);
      k.filter(x, dyPad, g, p0, p1, nv, parts + s * K * nr);
    }
  });
  for (long i = 0; i < K; ++i)
    for (long j = 0; j < N; ++j) {
      float sum = parts[i * nr + j];
      for (long s = 1; s < segments; ++s) sum += parts[(s * K + i) * nr + j];
      dw[i * N + j] = sum;
    }
  return true;
}

}  // namespace ck
