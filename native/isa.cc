#include "isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace ck {
namespace {

Isa initialIsa() {
  Isa best = detectIsa();
  Isa asked;
  const char* env = std::getenv("CONVKIT_ISA");
  // An environment request can only lower the ISA: asking for AVX-512 on a CPU without it would crash.
  if (env && parseIsa(env, &asked) && static_cast<int>(asked) < static_cast<int>(best)) return asked;
  return best;
}

std::atomic<int>& current() {
  static std::atomic<int> isa{static_cast<int>(initialIsa())};
  return isa;
}

}  // namespace

Isa detectIsa() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  bool fma = __builtin_cpu_supports("fma");
  if (fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl")) {
    return Isa::Avx512;
  }
#if defined(CK_FAKE_AVX512)
  if (fma && __builtin_cpu_supports("avx2")) return Isa::Avx512;
#endif
  if (fma && __builtin_cpu_supports("avx2")) return Isa::Avx2;
#endif
  return Isa::Portable;
}

Isa activeIsa() { return static_cast<Isa>(current().load(std::memory_order_relaxed)); }

bool setIsa(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(detectIsa())) return false;
  current().store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "portable";
  }
}

bool parseIsa(const char* name, Isa* out) {
  if (std::strcmp(name, "avx512") == 0) *out = Isa::Avx512;
  else if (std::strcmp(name, "avx2") == 0) *out = Isa::Avx2;
  else if (std::strcmp(name, "portable") == 0) *out = Isa::Portable;
  else return false;
  return true;
}

}  // namespace ck
