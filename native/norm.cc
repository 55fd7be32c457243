// Per-channel ops over x [rows, c]: training batch norm and its gradient, the folded inference affine,
// bias add and the bias gradient (column sums).
//
// Channel statistics are sums over rows. Rows are cut into blocks whose size depends on the shape alone;
// each block's per-channel sums (in double) go to their own slot and the slots are added in block order, so
// the statistics are bitwise the same for any thread count.
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

// Workspace for columnSums plus `extra` doubles, from this thread's grow-only buffer.
double* sumWorkspace(long rows, long c, long extra) {
  thread_local Scratch buf;
  const long blocks = ceilDiv(rows, blockRows(rows, c));
  return static_cast<double*>(buf.bytes(static_cast<size_t>(blocks * c + extra) * sizeof(double)));
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
// As in the reference, the variance and y use the mean rounded to float.
bool batchNormTrain(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* variance,
                    long rows, long c, double eps) {
  double* ws = sumWorkspace(rows, c, 3 * c);
  if (!ws) return false;
  double* sums = ws;
  double* inv = ws + c;
  double* slots = ws + 3 * c;
  const double n = static_cast<double>(rows);
  columnSums(rows, c, slots, sums, [&](long r, long j) { return static_cast<double>(x[r * c + j]); });
  for (long j = 0; j < c; ++j) mean[j] = static_cast<float>(sums[j] / n);
  columnSums(rows, c, slots, sums, [&](long r, long j) {
    const double d = static_cast<double>(x[r * c + j]) - mean[j];
    return d * d;
  });
  for (long j = 0; j < c; ++j) {
    variance[j] = static_cast<float>(sums[j] / n);
    inv[j] = 1.0 / std::sqrt(static_cast<double>(variance[j]) + eps);
  }
  forRows(rows, c, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r)
      for (long j = 0; j < c; ++j)
        y[r * c + j] = static_cast<float>(gamma[j] * (static_cast<double>(x[r * c + j]) - mean[j]) * inv[j] + beta[j]);
  });
  return true;
}

// With xhat = (x - mean) invStd over N rows: dbeta = sum dy, dgamma = sum dy xhat,
// dx = gamma invStd / N (N dy - dbeta - xhat dgamma).
bool batchNormTrainBackward(const float* x, const float* dy, const float* gamma, const float* mean,
                            const float* variance, float* dx, float* dgamma, float* dbeta, long rows, long c, double eps) {
  double* ws = sumWorkspace(rows, c, 4 * c);
  if (!ws) return false;
  double* sdy = ws;
  double* sdyx = ws + c;
  double* inv = ws + 2 * c;
  double* k = ws + 3 * c;
  double* slots = ws + 4 * c;
  for (long j = 0; j < c; ++j) inv[j] = 1.0 / std::sqrt(static_cast<double>(variance[j]) + eps);
  columnSums(rows, c, slots, sdy, [&](long r, long j) { return static_cast<double>(dy[r * c + j]); });
  columnSums(rows, c, slots, sdyx, [&](long r, long j) {
    return static_cast<double>(dy[r * c + j]) * ((static_cast<double>(x[r * c + j]) - mean[j]) * inv[j]);
  });
  const double n = static_cast<double>(rows);
  for (long j = 0; j < c; ++j) {
    dbeta[j] = static_cast<float>(sdy[j]);
    dgamma[j] = static_cast<float>(sdyx[j]);
    k[j] = gamma[j] * inv[j] / n;
  }
  forRows(rows, c, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r) {
      for (long j = 0; j < c; ++j) {
        const double xhat = (static_cast<double>(x[r * c + j]) - mean[j]) * inv[j];
        dx[r * c + j] = static_cast<float>(k[j] * (n * dy[r * c + j] - sdy[j] - xhat * sdyx[j]));
      }
    }
  });
  return true;
}

void channelAffine(const float* x, const float* scale, const float* shift, float* y, long rows, long c) {
  forRows(rows, c, [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r)
      for (long j = 0; j < c; ++j) y[r * c + j] = x[r * c + j] * scale[j] + shift[j];
  });
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
