// The per-ISA copies of the SGEMM microkernel and their blocking parameters.
//
// Register budgets (accumulators + B vectors + one broadcast must fit the register file):
//   avx512   12 x 32 (24 zmm accumulators + 2 B + 1 of 32 registers). 14 x 32 would leave one spare
//            register; 12 rows keeps GCC from spilling and MC a multiple of MR.
//   avx2      6 x 16 (12 ymm accumulators + 2 B + 1 of 16): the classic Haswell/Zen shape.
//   portable  6 x 8 in 16-byte vectors (SSE2 on x86-64, NEON on arm64): 12 + 2 + 1 of 16.
// KC keeps a B micro-panel (KC x NR floats) in L1: avx2 384 x 16 = 24 KiB (384 against 256: ResNet18's 128-channel
// 3x3 convolutions 8% faster, K = 1152 in 3 blocks instead of 5; others level), avx512 192 x 32 = 24 KiB.
// The driver evens the blocks out (K = 576: 2 x 288). MC keeps the A block in L2 (144 x 384 x 4 = 216 KiB);
// NC bounds the packed B block to a few MiB of L3. KC stays within kMinZeros (gemm.h): a worker's zeros
// for padded taps then never moves the zeros a Panelizer took on the same thread.
#include "gemm.h"
#include "isa.h"

#include <type_traits>

#if defined(__SSE2__)
#include <immintrin.h>  // the streaming stores (gemm_micro.inc: vstream)
#endif

#if CK_HAVE_X86_VARIANTS
#define CK_NS avx512
#define CK_TARGET CK_TARGET_AVX512
#define CK_VBYTES 64
#define CK_MR 12
#define CK_NV 2
#include "gemm_micro.inc"
#undef CK_NS
#undef CK_TARGET
#undef CK_VBYTES
#undef CK_MR
#undef CK_NV

#define CK_NS avx2
#define CK_TARGET CK_TARGET_AVX2
#define CK_VBYTES 32
#define CK_MR 6
#define CK_NV 2
#include "gemm_micro.inc"
#undef CK_NS
#undef CK_TARGET
#undef CK_VBYTES
#undef CK_MR
#undef CK_NV
#endif

#define CK_NS portable
#define CK_TARGET
#define CK_VBYTES 16
#define CK_MR 6
#define CK_NV 2
#include "gemm_micro.inc"
#undef CK_NS
#undef CK_TARGET
#undef CK_VBYTES
#undef CK_MR
#undef CK_NV

namespace ck {
namespace {

const GemmKernel kPortable{Isa::Portable, portable::MR, portable::NR, 256, 144, 4096, portable::macroKernel, portable::macroKernelIndirect,
                            portable::macroKernelGatherB};
#if CK_HAVE_X86_VARIANTS
const GemmKernel kAvx2{Isa::Avx2, avx2::MR, avx2::NR, 384, 144, 4096, avx2::macroKernel, avx2::macroKernelIndirect,
                            avx2::macroKernelGatherB};
const GemmKernel kAvx512{Isa::Avx512, avx512::MR, avx512::NR, 192, 144, 3072, avx512::macroKernel, avx512::macroKernelIndirect,
                            avx512::macroKernelGatherB};
#endif

}  // namespace

const GemmKernel& gemmKernelFor(Isa isa) {
#if CK_HAVE_X86_VARIANTS
  if (isa == Isa::Avx512) return kAvx512;
  if (isa == Isa::Avx2) return kAvx2;
#endif
  (void)isa;
  return kPortable;
}

const GemmKernel& gemmKernel() { return gemmKernelFor(activeIsa()); }

}  // namespace ck
