// Per-channel ops over x [rows, c]: training batch norm and its gradient (optionally fused with the ReLU or
// ReLU6 after it: one pass fewer each way), the folded inference affine, bias add and the bias gradient.
//
// Channel statistics are sums over rows. Rows are cut into blocks whose size depends on the shape alone;
// each block's per-channel sums (in double) go to their own slot and the slots are added in block order, so
// the statistics are bitwise the same for any thread count.
#include <algorithm>
#include <cmath>

#include "isa.h"
#include "kernels.h"
#include "threadpool.h"

#define CK_ISA_FILE "norm_rows.inc"
#define CK_ISA_PREFIX norm
#include "per_isa.inc"

namespace ck {
namespace {

constexpr long kBlockValues = 1 << 14;  // values per summation block
constexpr long kGrain = 1 << 15;        // values per thread for the elementwise passes

long blockRows(long rows, long c) { return minl(maxl(1, kBlockValues / maxl(c, 1)), maxl(rows, 1)); }

// gamma / sqrt(variance + eps), rounded to float, for both passes.
void normScale(const float* gamma, const float* variance, double eps, long c, float* scale) {
  for (long j = 0; j < c; ++j) scale[j] = static_cast<float>(gamma[j] / std::sqrt(static_cast<double>(variance[j]) + eps));
}

// The row kernels of the active ISA (norm_rows.inc).
struct RowKernels {
  decltype(&norm_portable::normalize) normalize;
  decltype(&norm_portable::affine) affine;
  decltype(&norm_portable::backward) backward;
  decltype(&norm_portable::sums2) sums2;
  decltype(&norm_portable::sums1) sums1;
  decltype(&norm_portable::biasAdd) biasAdd;
};

#define CK_NORM_KERNELS(ns) {ns::normalize, ns::affine, ns::backward, ns::sums2, ns::sums1, ns::biasAdd}

RowKernels rowKernels() {
#if CK_HAVE_X86_VARIANTS
  switch (activeIsa()) {
    case Isa::Avx512: return CK_NORM_KERNELS(norm_avx512);
    case Isa::Avx2: return CK_NORM_KERNELS(norm_avx2);
    default: break;
  }
#endif
  return CK_NORM_KERNELS(norm_portable);
}

#undef CK_NORM_KERNELS

// The per-channel values that form z = (x - mean) * scale + beta, the fused activation's input.
struct Normalized {
  const float* mean = nullptr;
  const float* scale = nullptr;
  const float* beta = nullptr;
};

// Column sums over row blocks, deterministic: fill(r0, r1, slot) adds the rows [r0, r1) of one block into its
// own `width` doubles (zeroed first), then out[width] = the slots added in block order. slots: [blocks][width].
template <class Fill>
void blockSums(long rows, long c, long width, double* slots, double* out, Fill fill) {
  const long br = blockRows(rows, c), blocks = ceilDiv(rows, br);
  parallel(threadsFor(rows * c, kGrain), [&](int tid, int nt) {
    long b0, b1;
    splitRange(blocks, nt, tid, &b0, &b1);
    for (long b = b0; b < b1; ++b) {
      double* slot = slots + b * width;
      for (long j = 0; j < width; ++j) slot[j] = 0.0;
      fill(b * br, minl(rows, (b + 1) * br), slot);
    }
  });
  for (long j = 0; j < width; ++j) out[j] = 0.0;
  for (long b = 0; b < blocks; ++b)
    for (long j = 0; j < width; ++j) out[j] += slots[b * width + j];
}

// Two column sums in one pass over memory (the passes are memory-bound): out[j] = sum of v[r, j],
// out[c + j] = sum of v[r, j] * w[r, j], v = x masked by the fused activation at z(w) (v = x when act is
// Linear; w = x gives sums of squares). slots: [blocks][2c] doubles.
void columnSums2(long rows, long c, const float* x, const float* w, const Normalized& z, Act act, double* slots,
                 double* out) {
  const RowKernels k = rowKernels();
  const bool quad = rows * c > (1L << 20) && rows * c <= (1L << 22);  // 4-16 MB (norm_rows.inc, sums2T)
  blockSums(rows, c, 2 * c, slots, out, [&](long r0, long r1, double* slot) {
    k.sums2(x, w, z.mean, z.scale, z.beta, r0, r1, c, slot, slot + c, act, quad);
  });
}

// Workspace for blockSums over up to 2c doubles per block plus `extra` doubles, from this thread's grow-only buffer.
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
  columnSums2(rows, c, x, x, Normalized{}, Act::Linear, slots, sums);  // squares follow the sums
  for (long j = 0; j < c; ++j) mean[j] = static_cast<float>(sums[j] / n);
  // Per element in float, y = (x - mean) * scale + beta: the statistics and the per-channel factor are
  // double, the elementwise pass is the vectorised float FMA (double per element cost a third of the time).
  float* scale = reinterpret_cast<float*>(ws + 2 * c);
  for (long j = 0; j < c; ++j) {
    const double ex = sums[j] / n, shift = ex - mean[j];
    variance[j] = static_cast<float>(std::max(0.0, squares[j] / n - ex * ex) + shift * shift);
  }
  normScale(gamma, variance, eps, c, scale);
  const RowKernels k = rowKernels();
  forRows(rows, c, [&](long r0, long r1) { k.normalize(x, mean, scale, beta, y, r0, r1, c, act); });
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
  columnSums2(rows, c, dy, x, z, act, slots, sdy);  // sdyx follows sdy
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
  const RowKernels k = rowKernels();
  forRows(rows, c, [&](long r0, long r1) {
    k.backward(x, dy, mean, scale, beta, coefA, coefB, coefD, dx, r0, r1, c, act);
  });
  return true;
}

// y = act(x * scale + shift): inference batch norm, folded, with the ReLU / ReLU6 after it.
void channelAffine(const float* x, const float* scale, const float* shift, float* y, long rows, long c, Act act) {
  const RowKernels k = rowKernels();
  forRows(rows, c, [&](long r0, long r1) { k.affine(x, scale, shift, y, r0, r1, c, act); });
}

void biasAdd(const float* x, const float* bias, float* y, long rows, long c) {
  const RowKernels k = rowKernels();
  forRows(rows, c, [&](long r0, long r1) { k.biasAdd(x, bias, y, r0, r1, c); });
}

// Column sums in double per row block, blocks added in order: deterministic for any thread count.
bool sumRows(const float* x, float* y, long rows, long c) {
  double* ws = sumWorkspace(rows, c, c);
  if (!ws) return false;
  const RowKernels k = rowKernels();
  blockSums(rows, c, c, ws + c, ws, [&](long r0, long r1, double* slot) { k.sums1(x, r0, r1, c, slot); });
  for (long j = 0; j < c; ++j) y[j] = static_cast<float>(ws[j]);
  return true;
}

}  // namespace ck
