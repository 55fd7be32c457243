// Runtime CPU dispatch. Hot kernels are compiled several times from one source (see gemm_kernels.cc), each
// copy with __attribute__((target(...))); the best one the CPU supports is chosen when the addon loads.
// The binary itself targets baseline x86-64 (or whatever the compiler's default is elsewhere).
#pragma once

namespace ck {

enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2 };

// The best ISA this CPU supports (cpuid), whatever CONVKIT_ISA says.
Isa detectIsa();
// The ISA kernels use now: detectIsa(), lowered by CONVKIT_ISA=portable|avx2|avx512 or setIsa().
Isa activeIsa();
// Selects `isa` if the CPU supports it; returns false (and changes nothing) otherwise.
bool setIsa(Isa isa);
const char* isaName(Isa isa);
bool parseIsa(const char* name, Isa* out);

}  // namespace ck

// Per-ISA compilation: each variant of a kernel file is included under one of these.
#if defined(__x86_64__) && defined(CK_FAKE_AVX512)
// Test builds only (never by binding.gyp): the avx512 copies are compiled for AVX2 and reported as avx512,
// so their tile and blocking (12 x 32, KC 192, NC 3072) can be checked against the reference on a machine
// without AVX-512. 64-byte vectors then lower to pairs of AVX2 operations: correct, just slow.
#define CK_TARGET_AVX512 __attribute__((target("avx2,fma")))
#define CK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CK_HAVE_X86_VARIANTS 1
#elif defined(__x86_64__)
#define CK_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define CK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CK_HAVE_X86_VARIANTS 1
#else
#define CK_HAVE_X86_VARIANTS 0
#endif
