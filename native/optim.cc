// Optimizer steps, in place, in Keras's operation order. SGD computes in double; Adam in float32 as Keras does
// (optim_step.inc), vectorised per ISA. Native and reference training runs stay within float rounding.
#include <cmath>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "kernels.h"
#include "threadpool.h"

// No FMA contraction in the per-ISA copies (optim_step.inc): the same bits on every ISA.
#pragma GCC optimize("fp-contract=off")
#define CK_ISA_FILE "optim_step.inc"
#define CK_ISA_PREFIX optim
#include "per_isa.inc"

namespace ck {
namespace {

using AdamFn = void (*)(float*, const float*, float*, float*, long, long, float, float, float, float);

AdamFn adamKernel() {
#if CK_HAVE_X86_VARIANTS
  switch (activeIsa()) {
    case Isa::Avx512: return optim_avx512::adamRange;
    case Isa::Avx2: return optim_avx2::adamRange;
    default: break;
  }
#endif
  return optim_portable::adamRange;
}

constexpr long kGrain = 1 << 15;

// Flush-to-zero and denormals-are-zero on this thread for the length of a scope, as TensorFlow runs its CPU
// kernels (ScopedFlushDenormal). Adam's second moment v decays toward g^2, and with float32 arithmetic a small
// gradient's g^2 underflows into the denormal range, where every operation takes a microcode assist on Intel
// cores: the course's MLP (gradients ~1e-20 once it stalls) spent 40% of its training step in Adam, ~9 ns per
// weight. The same flags on every ISA (MXCSR governs SSE, AVX and AVX-512 alike): the same bits on each.
class FlushDenormals {
 public:
#if defined(__x86_64__) || defined(__i386__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#endif
};

template <class F>
void forChunks(long n, F&& body) {
  parallel(threadsFor(n, kGrain), [&](int tid, int nt) {
    long i0, i1;
    splitRange(n, nt, tid, &i0, &i1);
    if (i0 < i1) body(i0, i1);
  });
}

}  // namespace

// m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2); p -= alpha m / (sqrt(v) + epsilon), where alpha already
// holds lr * sqrt(1 - beta2^t) / (1 - beta1^t) (keras/src/optimizers/adam.py).
void adamUpdate(float* param, const float* grad, float* m, float* v, long n, double alpha, double beta1, double beta2,
                double epsilon) {
  const float c1 = static_cast<float>(1.0 - beta1), c2 = static_cast<float>(1.0 - beta2);
  const AdamFn fn = adamKernel();
  forChunks(n, [&](long i0, long i1) {
    FlushDenormals ftz;
    fn(param, grad, m, v, i0, i1, static_cast<float>(alpha), c1, c2, static_cast<float>(epsilon));
  });
}

// v = momentum v - lr g; p += v, or p += momentum v - lr g with Nesterov (keras/src/optimizers/sgd.py).
void sgdUpdate(float* param, const float* grad, float* velocity, long n, double lr, double momentum, bool nesterov) {
  forChunks(n, [&](long i0, long i1) {
    if (!velocity || momentum == 0.0) {
      for (long i = i0; i < i1; ++i) param[i] = static_cast<float>(param[i] - lr * grad[i]);
      return;
    }
    for (long i = i0; i < i1; ++i) {
      const float vi = static_cast<float>(momentum * velocity[i] - lr * grad[i]);
      velocity[i] = vi;
      param[i] = static_cast<float>(param[i] + (nesterov ? momentum * vi - lr * grad[i] : static_cast<double>(vi)));
    }
  });
}

}  // namespace ck
