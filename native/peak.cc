// fmaPeak(milliseconds, threads) -> GFLOP/s: the machine's FP32 multiply-add peak as the benchmark's yardstick.
//
// Each thread of the pool runs 12 independent chains acc = acc * a + b in vector registers (12 chains cover
// an FMA latency of 4-5 cycles on two FMA ports; floating-point rules keep GCC from folding the chains, and
// -ffp-contract=fast makes each step one FMA where the target has it) until `milliseconds` have passed, checking the clock only
// every few thousand FMAs. One vector FMA counts as 2 * lanes flops. The result is the sum of the threads'
// flops over the longest thread's time. Compiled once per ISA (GCC vector extensions, like gemm_micro.inc)
// and dispatched on activeIsa(), so CONVKIT_ISA=portable measures the portable kernels' ceiling.
#include <node_api.h>

#include <chrono>
#include <vector>

#include "isa.h"
#include "napi_util.h"
#include "threadpool.h"

namespace ck {
namespace {

struct PeakResult {
  double flops = 0;
  double seconds = 0;
};

using Clock = std::chrono::steady_clock;

// Defines `static PeakResult NAME(double seconds)` for VBYTES-wide vectors under TARGET.
#define CK_PEAK_KERNEL(NAME, TARGET, VBYTES)                                                              \
  TARGET static PeakResult NAME(double seconds) {                                                         \
    typedef float V __attribute__((vector_size(VBYTES)));                                                 \
    constexpr int kChains = 12;                                                                           \
    constexpr long kInner = 1024;                                                                         \
    V acc[kChains];                                                                                       \
    for (int i = 0; i < kChains; ++i) acc[i] = V{} + 0.001f * static_cast<float>(i + 1);                  \
    /* a < 1 and small b: every chain converges to b / (1 - a), never overflows or turns denormal. */     \
    volatile float av = 0.999999f, bv = 1e-6f;                                                            \
    const V a = V{} + av, b = V{} + bv;                                                                   \
    const auto start = Clock::now();                                                                      \
    const auto end = start + std::chrono::duration<double>(seconds);                                      \
    long rounds = 0;                                                                                      \
    Clock::time_point now;                                                                                \
    do {                                                                                                  \
      for (long k = 0; k < kInner; ++k) {                                                                 \
        _Pragma("GCC unroll 12") for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * a + b;               \
      }                                                                                                   \
      ++rounds;                                                                                           \
      now = Clock::now();                                                                                 \
    } while (now < end);                                                                                  \
    V s = V{};                                                                                            \
    for (int i = 0; i < kChains; ++i) s += acc[i];                                                        \
    volatile float sink = s[0];                                                                           \
    (void)sink;                                                                                           \
    PeakResult r;                                                                                         \
    r.flops = 2.0 * (VBYTES / 4) * kChains * kInner * static_cast<double>(rounds);                        \
    r.seconds = std::chrono::duration<double>(now - start).count();                                       \
    return r;                                                                                             \
  }

#if CK_HAVE_X86_VARIANTS
CK_PEAK_KERNEL(peakAvx512, CK_TARGET_AVX512, 64)
CK_PEAK_KERNEL(peakAvx2, CK_TARGET_AVX2, 32)
#endif
CK_PEAK_KERNEL(peakPortable, , 16)

#undef CK_PEAK_KERNEL

PeakResult peakFor(Isa isa, double seconds) {
#if CK_HAVE_X86_VARIANTS
  if (isa == Isa::Avx512) return peakAvx512(seconds);
  if (isa == Isa::Avx2) return peakAvx2(seconds);
#endif
  (void)isa;
  return peakPortable(seconds);
}

}  // namespace

// FP32 FMA peak in GFLOP/s over `threads` pool threads (clamped to threadCount()) for `ms` milliseconds.
double fmaPeak(double ms, int threads) {
  const Isa isa = activeIsa();
  const double seconds = ms / 1e3;
  std::vector<PeakResult> parts(static_cast<size_t>(threads < 1 ? 1 : threads));
  int used = 0;
  parallel(threads, [&](int tid, int nt) {
    if (tid == 0) used = nt;
    parts[static_cast<size_t>(tid)] = peakFor(isa, seconds);
  });
  double flops = 0, longest = 0;
  for (int i = 0; i < used; ++i) {
    flops += parts[static_cast<size_t>(i)].flops;
    if (parts[static_cast<size_t>(i)].seconds > longest) longest = parts[static_cast<size_t>(i)].seconds;
  }
  return longest > 0 ? flops / longest / 1e9 : 0;
}

// fmaPeak(milliseconds, threads) -> GFLOP/s
napi_value FmaPeak(napi_env env, napi_callback_info info) {
  Args a(env, info);
  double ms, threads;
  if (!a.count(2) || !a.number(0, "milliseconds", &ms) || !a.number(1, "threads", &threads)) return nullptr;
  if (!(ms > 0) || ms > 60000) return a.fail("milliseconds", "a number in (0, 60000]"), nullptr;
  if (!(threads >= 1) || threads > 4096) return a.fail("threads", "an integer >= 1"), nullptr;
  return numberValue(env, fmaPeak(ms, static_cast<int>(threads)));
}

}  // namespace ck
