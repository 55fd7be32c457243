// Optimizer steps, in place. Computed in double with the reference's operation order (Keras's formulas), so
// native and reference training runs stay within float rounding of each other.
#include <cmath>

#include "kernels.h"
#include "threadpool.h"

namespace ck {
namespace {

constexpr long kGrain = 1 << 15;

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
  const double c1 = 1.0 - beta1, c2 = 1.0 - beta2;
  forChunks(n, [&](long i0, long i1) {
    for (long i = i0; i < i1; ++i) {
      const double g = grad[i];
      const float mi = static_cast<float>(m[i] + (g - m[i]) * c1);
      const float vi = static_cast<float>(v[i] + (g * g - v[i]) * c2);
      m[i] = mi;
      v[i] = vi;
      param[i] = static_cast<float>(param[i] - (alpha * mi) / (std::sqrt(static_cast<double>(vi)) + epsilon));
    }
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
