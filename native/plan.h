// The inference plan's data (native/plan.cc builds it from JavaScript's encoding; native/plan_run.cc runs its
// ops): ops over (buffer, offset) slots, the constants they read, and the weights packed for them.
#pragma once

#include <node_api.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "common.h"
#include "isa.h"

namespace ck {

enum class Op {
  Conv = 0, Depthwise = 1, Dense = 2, MaxPool = 3, AvgPool = 4, GlobalAvg = 5, GlobalMax = 6, Add = 7,
  Affine = 8, Bias = 9, Activation = 10, Softmax = 11, Concat = 12, Pad = 13, Binary = 14, Scale = 15,
  DepthwisePointwise = 16,
};
constexpr int kOps = 17;

struct Slot {
  int buf;
  long off;
};

// Packed weights: the plan's own 64-byte aligned array, or (in place) the memory of a constant made for this
// plan alone, whose original layout nothing reads any more.
struct Packed {
  std::unique_ptr<float, void (*)(void*)> own{nullptr, std::free};
  float* p = nullptr;
  size_t n = 0;
  bool allocate(size_t count) {
    void* m = nullptr;
    if (posix_memalign(&m, 64, count * sizeof(float)) != 0) return false;
    own.reset(static_cast<float*>(m));
    p = own.get();
    n = count;
    return true;
  }
  void borrow(float* at, size_t count) {
    own.reset();
    p = at;
    n = count;
  }
  float* data() const { return p; }
  bool empty() const { return n == 0; }
};

struct PlanOp {
  Op op;
  Act act;
  Slot out;
  long outLd;
  std::vector<Slot> in;
  std::vector<long> ints;
  std::vector<int> consts;
  // Conv: the kernel packed once (conv2dPack); Dense: the weights for the small-M GEMM (smallPack);
  // DepthwisePointwise: the pointwise kernel for the main GEMM (gemmPack). For the ISA of plan creation.
  Packed packed;
};

// A constant array of the plan: JavaScript's own Float32Array, held by a reference, read in place. The folded
// weights are arrays compile.ts made for this plan; the others are the model's weights themselves, which the
// JavaScript side never runs a plan against once they changed (Variable.version): copying them would only
// double the model's memory while the plan is built.
struct Const {
  const float* p;
  size_t len;
  napi_ref ref;
  bool owned = false;   // made for this plan alone (CompiledPlan.owned): may be packed in place
  bool packedIn = false;  // holds an op's packed weights now (kept alive, never read as the original)
};

struct Plan {
  std::vector<PlanOp> ops;
  std::vector<Const> consts;
  std::vector<long> bufferSizes;
  std::vector<float*> buffers;  // allocated on the first run
  long inputSize = 0, outputSize = 0;
  Isa isa = Isa::Portable;  // packed kernels are laid out for this ISA's vector width, and the plan runs on it
  ~Plan() {
    for (float* b : buffers) std::free(b);
  }
};

// Runs one op of the plan: x is the run's input, y its output, bufs the plan's buffers. False when a kernel
// could not get its workspace memory.
bool runOp(const Plan& p, const PlanOp& o, const float* x, float* y, float* const* bufs);

// Geometry of a convolution or pooling op (its first kGeomFields ints).
Geom geomOf(const PlanOp& o);

}  // namespace ck
