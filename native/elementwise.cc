// Elementwise ops, activations, softmax and whole-array reductions. Memory-bound: the baseline vector ISA
// is enough, so these are compiled once, except sigmoid and tanh, whose exponentials are compute-bound
// (vmath.inc, one copy per ISA). Arithmetic mirrors the reference backend (which computes in double and
// rounds on store) where that costs nothing: float add/sub/mul round exactly as double-then-round does;
// scale and softmax run in double.
#include <atomic>
#include <cmath>

#include "isa.h"
#include "kernels.h"
#include "threadpool.h"

#define CK_ISA_FILE "vmath.inc"
#define CK_ISA_PREFIX vm
#include "per_isa.inc"

namespace ck {
namespace {

constexpr long kGrain = 1 << 16;         // elements per thread below which a thread is not worth waking
constexpr long kReduceChunk = 1 << 14;   // fixed summation blocks: the order of a sum never depends on threads

template <class F>
void forChunks(long n, F&& body) {
  parallel(threadsFor(n, kGrain), [&](int tid, int nt) {
    long i0, i1;
    splitRange(n, nt, tid, &i0, &i1);
    if (i0 < i1) body(i0, i1);
  });
}

// Sum of f(a[i]) in double: per fixed block with 8 independent lanes, then the blocks in order.
template <class F>
double reduceSum(const float* a, long n, F f) {
  const long blocks = ceilDiv(n, kReduceChunk);
  if (blocks == 0) return 0.0;
  thread_local Scratch buf;
  double* part = static_cast<double*>(buf.bytes(static_cast<size_t>(blocks) * sizeof(double)));
  auto block = [&](long k) {
    const long i0 = k * kReduceChunk, i1 = minl(n, i0 + kReduceChunk);
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = i0;
    for (; i + 8 <= i1; i += 8)
      for (int j = 0; j < 8; ++j) lane[j] += f(a[i + j]);
    double s = 0;
    for (; i < i1; ++i) s += f(a[i]);
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7])) + s;
  };
  if (!part) {  // no memory for the block table: the same blocks, summed serially
    double s = 0;
    for (long k = 0; k < blocks; ++k) s += block(k);
    return s;
  }
  parallel(threadsFor(n, kGrain), [&](int tid, int nt) {
    long k0, k1;
    splitRange(blocks, nt, tid, &k0, &k1);
    for (long k = k0; k < k1; ++k) part[k] = block(k);
  });
  double s = 0;
  for (long k = 0; k < blocks; ++k) s += part[k];
  return s;
}

}  // namespace

void binary(Binary op, const float* a, const float* b, float* y, long n) {
  forChunks(n, [&](long i0, long i1) {
    switch (op) {
      case Binary::Add: for (long i = i0; i < i1; ++i) y[i] = a[i] + b[i]; break;
      case Binary::Sub: for (long i = i0; i < i1; ++i) y[i] = a[i] - b[i]; break;
      case Binary::Mul: for (long i = i0; i < i1; ++i) y[i] = a[i] * b[i]; break;
    }
  });
}

namespace {

// K parts summed per element in one sweep (all K streams side by side), left to right.
template <int K>
void addParts(const float* const* parts, float* __restrict y, long i0, long i1) {
  for (long i = i0; i < i1; ++i) {
    float s = parts[0][i];
#pragma GCC unroll 8
    for (int j = 1; j < K; ++j) s += parts[j][i];
    y[i] = s;
  }
}

}  // namespace

void addN(const float* const* parts, int k, float* y, long n) {
  forChunks(n, [&](long i0, long i1) {
    switch (k) {
      case 2: addParts<2>(parts, y, i0, i1); break;
      case 3: addParts<3>(parts, y, i0, i1); break;
      case 4: addParts<4>(parts, y, i0, i1); break;
      case 5: addParts<5>(parts, y, i0, i1); break;
      case 6: addParts<6>(parts, y, i0, i1); break;
      case 7: addParts<7>(parts, y, i0, i1); break;
      default: addParts<8>(parts, y, i0, i1); break;
    }
  });
}

void scale(const float* a, double s, float* y, long n) {
  forChunks(n, [&](long i0, long i1) {
    for (long i = i0; i < i1; ++i) y[i] = static_cast<float>(a[i] * s);
  });
}

double sum(const float* a, long n) {
  return reduceSum(a, n, [](float v) { return static_cast<double>(v); });
}

double sumSquares(const float* a, long n) {
  return reduceSum(a, n, [](float v) { return static_cast<double>(v) * v; });
}

// Counts values whose exponent bits are all ones (infinities and NaN): integer work the compiler vectorises.
bool allFinite(const float* a, long n) {
  const long blocks = ceilDiv(n, kReduceChunk);
  std::atomic<long> bad{0};
  parallel(threadsFor(n, kGrain), [&](int tid, int nt) {
    long b0, b1;
    splitRange(blocks, nt, tid, &b0, &b1);
    const long i0 = b0 * kReduceChunk, i1 = minl(n, b1 * kReduceChunk);
    uint32_t count = 0;
    for (long i = i0; i < i1; ++i) {
      uint32_t bits;
      std::memcpy(&bits, a + i, sizeof bits);
      count += (bits & 0x7f800000u) == 0x7f800000u;
    }
    if (count) bad.fetch_add(count);
  });
  return bad.load() == 0;
}

void dropout(const float* x, double rate, uint32_t seed, float* y, long n) {
  const uint32_t threshold = static_cast<uint32_t>(std::llround(rate * 16777216.0));
  const float keep = static_cast<float>(1.0 / (1.0 - rate));
  forChunks(n, [&](long i0, long i1) {
    for (long i = i0; i < i1; ++i) {
      uint32_t z = seed + static_cast<uint32_t>(i) * 0x9e3779b9u;
      z = (z ^ (z >> 16)) * 0x85ebca6bu;
      z = (z ^ (z >> 13)) * 0xc2b2ae35u;
      // A product, not a select: a dropped infinity or NaN still poisons y, as in the reference.
      y[i] = x[i] * (((z ^ (z >> 16)) >> 8) >= threshold ? keep : 0.0f);
    }
  });
}

namespace {

using MapFn = void (*)(const float*, float*, long);

void transcendental(Act kind, const float* x, float* y, long n) {
  MapFn sig = vm_portable::sigmoidValues, th = vm_portable::tanhValues;
#if CK_HAVE_X86_VARIANTS
  switch (activeIsa()) {
    case Isa::Avx512: sig = vm_avx512::sigmoidValues, th = vm_avx512::tanhValues; break;
    case Isa::Avx2: sig = vm_avx2::sigmoidValues, th = vm_avx2::tanhValues; break;
    default: break;
  }
#endif
  (kind == Act::Sigmoid ? sig : th)(x, y, n);
}

}  // namespace

void activation(Act kind, const float* x, float* y, long n) {
  forChunks(n, [&](long i0, long i1) {
    switch (kind) {
      case Act::Linear: std::memcpy(y + i0, x + i0, (i1 - i0) * sizeof(float)); break;
      // `v < 0 ? 0 : v` rather than max(): NaN passes through (NaN < 0 is false), as in the reference and in
      // TensorFlow, so the NaN guard sees it instead of a silent zero.
      case Act::Relu: for (long i = i0; i < i1; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i]; break;
      case Act::Relu6:
        for (long i = i0; i < i1; ++i) y[i] = x[i] < 0.0f ? 0.0f : (x[i] > 6.0f ? 6.0f : x[i]);
        break;
      case Act::Sigmoid:
      case Act::Tanh: transcendental(kind, x + i0, y + i0, i1 - i0); break;
    }
  });
}

namespace {

// dx = dy * (0 < x < hi ? 1 : 0), as a product (not a select) so that an infinite or NaN dy behaves as in
// the reference. Written with a mask and __restrict so that it vectorises: the first version's `?:` on a
// random sign compiled to a branch and cost ~3 ns per element in mispredictions (10x the memory time).
void reluMaskTimes(const float* __restrict x, const float* __restrict dy, float* __restrict dx, long n, float hi) {
  for (long i = 0; i < n; ++i) {
    const float m = static_cast<float>((x[i] > 0.0f) & (x[i] < hi));
    dx[i] = dy[i] * m;
  }
}

}  // namespace

void activationBackward(Act kind, const float* x, const float* y, const float* dy, float* dx, long n) {
  forChunks(n, [&](long i0, long i1) {
    switch (kind) {
      case Act::Linear: std::memcpy(dx + i0, dy + i0, (i1 - i0) * sizeof(float)); break;
      case Act::Relu: reluMaskTimes(x + i0, dy + i0, dx + i0, i1 - i0, INFINITY); break;
      case Act::Relu6: reluMaskTimes(x + i0, dy + i0, dx + i0, i1 - i0, 6.0f); break;
      case Act::Sigmoid:
        for (long i = i0; i < i1; ++i) dx[i] = static_cast<float>(dy[i] * (static_cast<double>(y[i]) * (1.0 - y[i])));
        break;
      case Act::Tanh:
        for (long i = i0; i < i1; ++i) dx[i] = static_cast<float>(dy[i] * (1.0 - static_cast<double>(y[i]) * y[i]));
        break;
    }
  });
}

// Row-wise, shifted by the row maximum so exp never overflows; double like the reference.
void softmax(const float* x, float* y, long rows, long c) {
  parallel(threadsFor(rows * c, kGrain / 4), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    for (long r = r0; r < r1; ++r) {
      const float* xr = x + r * c;
      float* yr = y + r * c;
      double max = -INFINITY;
      for (long j = 0; j < c; ++j) max = xr[j] > max ? xr[j] : max;
      // As the reference: exponentials rounded to float, their sum in double, then divided.
      double s = 0;
      for (long j = 0; j < c; ++j) {
        yr[j] = static_cast<float>(std::exp(xr[j] - max));
        s += yr[j];
      }
      for (long j = 0; j < c; ++j) yr[j] = static_cast<float>(yr[j] / s);
    }
  });
}

// dx_j = y_j * (dy_j - sum_k dy_k y_k)
void softmaxBackward(const float* y, const float* dy, float* dx, long rows, long c) {
  parallel(threadsFor(rows * c, kGrain / 4), [&](int tid, int nt) {
    long r0, r1;
    splitRange(rows, nt, tid, &r0, &r1);
    for (long r = r0; r < r1; ++r) {
      const float* yr = y + r * c;
      const float* gr = dy + r * c;
      double dot = 0;
      for (long j = 0; j < c; ++j) dot += static_cast<double>(gr[j]) * yr[j];
      for (long j = 0; j < c; ++j) dx[r * c + j] = static_cast<float>(yr[j] * (gr[j] - dot));
    }
  });
}

// A training batch's rows, in the shuffled order, from data in memory: each row is asked for kGatherAhead rows
// before its copy, so that its misses overlap the copies before it (copied one row at a time, each row waited
// for memory: 32 CIFAR images took 28-33 microseconds, 3% of a LeNet5 step and 6% of the MLP's).
constexpr long kGatherAhead = 2;

void gatherRows(const float* src, long rowLength, const int32_t* indices, long count, float* dst) {
  const long bytes = rowLength * static_cast<long>(sizeof(float));
  auto fetch = [&](long i) {
    const char* p = reinterpret_cast<const char*>(src + indices[i] * rowLength);
    for (long o = 0; o < bytes; o += 64) __builtin_prefetch(p + o);
  };
  parallel(threadsFor(count * rowLength, kGrain), [&](int tid, int nt) {
    long i0, i1;
    splitRange(count, nt, tid, &i0, &i1);
    for (long i = i0; i < minl(i1, i0 + kGatherAhead); ++i) fetch(i);
    for (long i = i0; i < i1; ++i) {
      if (i + kGatherAhead < i1) fetch(i + kGatherAhead);
      std::memcpy(dst + i * rowLength, src + indices[i] * rowLength, static_cast<size_t>(bytes));
    }
  });
}

// Threads take whole rows (block-major), so each row is one contiguous copy.
void copyRows(const float* src, long srcStride, long srcBlockStride, float* dst, long dstStride, long dstBlockStride,
              long blocks, long rows, long width) {
  const long total = blocks * rows;
  parallel(threadsFor(total * width, kGrain), [&](int tid, int nt) {
    long r0, r1;
    splitRange(total, nt, tid, &r0, &r1);
    for (long r = r0; r < r1; ++r) {
      const long b = r / rows, i = r - b * rows;
      float* __restrict d = dst + b * dstBlockStride + i * dstStride;
      const float* __restrict s = src + b * srcBlockStride + i * srcStride;
      // Short rows (an Inception branch's 16 channels) as an inline loop: a memcpy call per 64-byte row
      // cost more than the copy.
      if (width <= 64) {
        for (long j = 0; j < width; ++j) d[j] = s[j];
      } else {
        std::memcpy(d, s, static_cast<size_t>(width) * sizeof(float));
      }
    }
  });
}

}  // namespace ck
