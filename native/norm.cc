// Per-channel ops over x [rows, c]: training batch norm and its gradient (optionally fused with the ReLU or
// ReLU6 after it: one pass fewer each way), the folded inference affine, bias add and the bias gradient.
//
// Channel statistics are sums over rows. Rows are cut into blocks whose size depends on the shape alone;
// each block's per-channel sums (in double) go to their own slot and the slots are added in block order, so
// the statistics are bitwise the same for any thread count.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "threadpool.h"

namespace ck {
namespace {

constexpr long kBlockValues = 1 << 14;  // values per summation block
constexpr long kGrain = 1 << 15;        // values per thread for the elementwise passes

long blockRows(long rows, long c) { return minl(maxl(1, kBlockValues / maxl(c, 1)), maxl(rows, 1)); }

// out[j] = sum over rows of term(row, j), in double, deterministic. slots: [blocks][c] doubles.
template <class Term>
void columnSums(long rows, long c, double* slots, double* out, Term term) {
  const long br = blockRows(rows, c), blocks = ceilDiv(rows, br);
  parallel(threadsFor(rows * c, kGrain), [&](int tid, int nt) {
    long k0, k1;
    splitRange(blocks, nt, tid, &k0, &k1);
    for (long k = k0; k < k1; ++k) {
      double* s = slots + k * c;
      for (long j = 0; j < c; ++j) s[j] = 0.0;
      for (long r = k * br; r < minl(rows, (k + 1) * br); ++r)
        for (long j = 0; j < c; ++j) s[j] += term(r, j);
    }
  });
  for (long j = 0; j < c; ++j) out[j] = 0.0;
  for (long k = 0; k < blocks; ++k)
    for (long j = 0; j < c; ++j) out[j] += slots[k * c + j];
}

// What passes the activation fused after batch norm, from its input z: 1 or 0, as a float factor (a product,
// like the unfused ReLU backward in elementwise.cc, so NaN and infinite dy behave the same).
// Written exactly as elementwise.cc's reluMaskTimes (an upper bound for ReLU too): `(z > 0)` alone compiled
// to a branch on a random sign, 10x slower than the whole masked pass.
template <Act A>
inline float passes(float z) {
  if (A == Act::Linear) return 1.0f;
  return static_cast<float>((z > 0.0f) & (z < (A == Act::Relu6 ? 6.0f : INFINITY)));
}

// The normalised value z = (x - mean) * scale + beta, formed by the backward pass exactly as the forward
// pass formed it (the same float operations on the same per-channel values), so that the fused
// activation's mask costs no read of its output: the passes are memory-bound, and y was a third array.
struct Normalized {
  const float* mean;
  const float* scale;
  const float* beta;
  float at(const float* xr, long j) const { return (xr[j] - mean[j]) * scale[j] + beta[j]; }
};

// gamma / sqrt(variance + eps), rounded to float, for both passes.
void normScale(const float* gamma, const float* variance, double eps, long c, float* scale) {
  for (long j = 0; j < c; ++j) scale[j] = static_cast<float>(gamma[j] / std::sqrt(static_cast<double>(variance[j]) + eps));
}

// Two column sums in one pass over memory (the passes are memory-bound): out1[j] = sum of v[r, j],
// out2[j] = sum of v[r, j] * w[r, j], v = x masked by the fused activation at z(w) (v = x when A is
// Linear; w = x gives sums of squares). slots: [blocks][2c] doubles.
template <Act A = Act::Linear>
void columnSums2(long rows, long c, const float* x, const float* w, const Normalized& z, double* slots, double* out1,
                 double* out2) {
  const long br = blockRows(rows, c), blocks = ceilDiv(rows, br);
  parallel(threadsFor(rows * c, kGrain), [&](int tid, int nt) {
    long k0, k1;
    splitRange(blocks, nt, tid, &k0, &k1);
    for (long k = k0; k < k1; ++k) {
      double* __restrict s1 = slots + k * 2 * c;
      double* __restrict s2 = s1 + c;
      for (long j = 0; j < c; ++j) s1[j] = s2[j] = 0.0;
      for (long r = k * br; r < minl(rows, (k + 1) * br); ++r) {
        const float* __restrict xr = x + r * c;
        const float* __restrict wr = w + r * c;
        for (long j = 0; j < c; ++j) {
          const double v = A == Act::Linear ? xr[j] : xr[j] * passes<A>(z.at(wr, j));
          s1[j] += v;
          s2[j] += v * wr[j];
        }
      }
    }
  });
  for (long j = 0; j < c; ++j) out1[j] = out2[j] = 0.0;
  for (long k = 0; k < blocks; ++k)
    for (long j = 0; j < c; ++j) {
      out1[j] += slots[k * 2 * c + j];
      out2[j] += slots[k * 2 * c + c + j];
    }
}

// Workspace for columnSums2 (or columnSums) plus `extra` doubles, from this thread's grow-only buffer.
double* sumWorkspace(long rows, long c, long extra) {
  thread_local Scratch buf;
  const long blocks = ceilDiv(rows, blockRows(rows, c));
  return static_cast<double*>(buf.bytes(static_cast<size_t>(2 * blocks * c + extra) * sizeof(double)));
}

template <class F>
void forRows(long rows, long c, F&& body) {
  parallel(threadsFor(rows * c, kGrain), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    if (r0 < r1) body(r0, r1);
  });
}

// The clip written as in elementwise.cc's activation (NaN passes).
template <Act A>
inline float clip(float v) {
  return A == Act::Linear ? v : A == Act::Relu ? (v < 0.0f ? 0.0f : v) : (v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v));
}

template <Act A>
void affineRows(const float* x, const float* scale, const float* shift, float* y, long rows, long c) {
  forRows(rows, c, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r)
      for (long j = 0; j < c; ++j) y[r * c + j] = clip<A>(x[r * c + j] * scale[j] + shift[j]);
  });
}

// y = act((x - mean) * scale + beta).
template <Act A>
void normalizeRows(const float* x, const float* mean, const float* scale, const float* beta, float* y, long rows, long c) {
  forRows(rows, c, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * c;
      float* __restrict yr = y + r * c;
      for (long j = 0; j < c; ++j) yr[j] = clip<A>((xr[j] - mean[j]) * scale[j] + beta[j]);
    }
  });
}

// dx = a dz + b (x - mean) + d per channel, dz = dy masked by the fused activation at z(x).
template <Act A>
void backwardRows(const float* x, const float* dy, const Normalized& z, const float* a, const float* b, const float* d,
                  float* dx, long rows, long c) {
  const float* mean = z.mean;
  forRows(rows, c, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * c;
      const float* __restrict dyr = dy + r * c;
      float* __restrict dxr = dx + r * c;
      for (long j = 0; j < c; ++j) {
        const float dz = A == Act::Linear ? dyr[j] : dyr[j] * passes<A>(z.at(xr, j));
        dxr[j] = a[j] * dz + b[j] * (xr[j] - mean[j]) + d[j];
      }
    }
  });
}

}  // namespace

// Batch mean and biased variance (what Keras normalises with), y = gamma (x - mean) / sqrt(var + eps) + beta.
// As in the reference, the variance and y use the mean rounded to float. One pass gives sum x and sum x^2
// in double; the variance about the float mean m is then E[x^2] - E[x]^2 + (E[x] - m)^2, exact up to
// double rounding (relative 1e-16 * mean^2 / variance).
bool batchNormTrain(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* variance,
                    long rows, long c, double eps, Act act) {
  double* ws = sumWorkspace(rows, c, 3 * c);
  if (!ws) return false;
  double* sums = ws;
  double* squares = ws + c;
  double* slots = ws + 3 * c;
  const double n = static_cast<double>(rows);
  columnSums2(rows, c, x, x, Normalized{}, slots, sums, squares);
  for (long j = 0; j < c; ++j) mean[j] = static_cast<float>(sums[j] / n);
  // Per element in float, y = (x - mean) * scale + beta: the statistics and the per-channel factor are
  // double, the elementwise pass is the vectorised float FMA (double per element cost a third of the time).
  float* scale = reinterpret_cast<float*>(ws + 2 * c);
  for (long j = 0; j < c; ++j) {
    const double ex = sums[j] / n, shift = ex - mean[j];
    variance[j] = static_cast<float>(std::max(0.0, squares[j] / n - ex * ex) + shift * shift);
  }
  normScale(gamma, variance, eps, c, scale);
  switch (act) {
    case Act::Relu: normalizeRows<Act::Relu>(x, mean, scale, beta, y, rows, c); break;
    case Act::Relu6: normalizeRows<Act::Relu6>(x, mean, scale, beta, y, rows, c); break;
    default: normalizeRows<Act::Linear>(x, mean, scale, beta, y, rows, c); break;
  }
  return true;
}

// With xhat = (x - mean) invStd over N rows: dbeta = sum dy, dgamma = sum dy xhat,
// dx = gamma invStd / N (N dy - dbeta - xhat dgamma).
bool batchNormTrainBackward(const float* x, const float* dy, const float* beta, const float* gamma, const float* mean,
                            const float* variance, float* dx, float* dgamma, float* dbeta, long rows, long c,
                            double eps, Act act) {
  // Doubles: sdy, sdyx, inv [c] each, then 4 float per-channel arrays in 2c doubles, then the sum slots.
  double* ws = sumWorkspace(rows, c, 5 * c);
  if (!ws) return false;
  double* sdy = ws;
  double* sdyx = ws + c;
  double* inv = ws + 2 * c;
  float* coefA = reinterpret_cast<float*>(ws + 3 * c);
  float* coefB = coefA + c;
  float* coefD = coefB + c;
  float* scale = coefD + c;
  double* slots = ws + 5 * c;
  normScale(gamma, variance, eps, c, scale);
  const Normalized z{mean, scale, beta};
  for (long j = 0; j < c; ++j) inv[j] = 1.0 / std::sqrt(static_cast<double>(variance[j]) + eps);
  // One pass: sum dy and sum dy x, then sum dy xhat = (sum dy x - mean sum dy) invStd.
  switch (act) {
    case Act::Relu: columnSums2<Act::Relu>(rows, c, dy, x, z, slots, sdy, sdyx); break;
    case Act::Relu6: columnSums2<Act::Relu6>(rows, c, dy, x, z, slots, sdy, sdyx); break;
    default: columnSums2(rows, c, dy, x, z, slots, sdy, sdyx); break;
  }
  for (long j = 0; j < c; ++j) sdyx[j] = (sdyx[j] - static_cast<double>(mean[j]) * sdy[j]) * inv[j];
  const double n = static_cast<double>(rows);
  // dx = k (n dy - sdy - xhat sdyx), k = gamma invStd / n, evaluated per element in float as
  // a dy + b (x - mean) + d with per-channel a, b, d rounded from double. x - mean is formed first, as the
  // reference forms xhat, so nothing cancels here that does not cancel there.
  for (long j = 0; j < c; ++j) {
    dbeta[j] = static_cast<float>(sdy[j]);
    dgamma[j] = static_cast<float>(sdyx[j]);
    const double k = gamma[j] * inv[j] / n;
    coefA[j] = static_cast<float>(k * n);
    coefB[j] = static_cast<float>(-k * inv[j] * sdyx[j]);
    coefD[j] = static_cast<float>(-k * sdy[j]);
  }
  switch (act) {
    case Act::Relu: backwardRows<Act::Relu>(x, dy, z, coefA, coefB, coefD, dx, rows, c); break;
    case Act::Relu6: backwardRows<Act::Relu6>(x, dy, z, coefA, coefB, coefD, dx, rows, c); break;
    default: backwardRows<Act::Linear>(x, dy, z, coefA, coefB, coefD, dx, rows, c); break;
  }
  return true;
}

// y = act(x * scale + shift): inference batch norm, folded, with the ReLU / ReLU6 after it.
void channelAffine(const float* x, const float* scale, const float* shift, float* y, long rows, long c, Act act) {
  switch (act) {
    case Act::Relu: affineRows<Act::Relu>(x, scale, shift, y, rows, c); break;
    case Act::Relu6: affineRows<Act::Relu6>(x, scale, shift, y, rows, c); break;
    default: affineRows<Act::Linear>(x, scale, shift, y, rows, c); break;
  }
}

void biasAdd(const float* x, const float* bias, float* y, long rows, long c) {
  forRows(rows, c, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r)
      for (long j = 0; j < c; ++j) y[r * c + j] = x[r * c + j] + bias[j];
  });
}

bool sumRows(const float* x, float* y, long rows, long c) {
  double* ws = sumWorkspace(rows, c, c);
  if (!ws) return false;
  columnSums(rows, c, ws + c, ws, [&](long r, long j) { return static_cast<double>(x[r * c + j]); });
  for (long j = 0; j < c; ++j) y[j] = static_cast<float>(ws[j]);
  return true;
}

}  // namespace ck
