// Inference plans: a model's whole forward pass for one batch size, run in one native call.
//
// src/backend/plan/ traces the model once, folds batch norm into the weights, fuses bias and activation into
// the producing op's epilogue, lets the branches of a concatenation write their channel slices in place, and
// assigns every intermediate value a slice of a few buffers by liveness. What reaches this file is that
// result: a list of ops over (buffer, offset) slots and a list of constant arrays, which are copied into the
// plan's own memory (the plan never reads JavaScript's weights again, so a weight update cannot tear it; the
// JavaScript side rebuilds the plan when a weight's version changes). Running it is a loop over ops calling
// the same kernels as the layer-by-layer path: no JavaScript, no allocation, no per-op N-API call.
//
// Encoding (Int32Array, one record per op):
//   op, act, outBuf, outOff, outLd, nIn, (inBuf, inOff) x nIn, nInts, ints..., nConst, const index...
// Buffers: >= 0 plan buffer, -1 the run's input, -2 the run's output. Offsets in floats.
#include <node_api.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "gemm.h"
#include "gemm_small.h"
#include "isa.h"
#include "kernels.h"
#include "napi_util.h"
#include "plan.h"
#include "threadpool.h"

namespace ck {
namespace {

void finalize(napi_env env, void* data, void*) {
  Plan* plan = static_cast<Plan*>(data);
  for (const Const& c : plan->consts)
    if (c.ref) napi_delete_reference(env, c.ref);
  delete plan;
}

bool readInt32(napi_env env, napi_value v, const int32_t** p, size_t* len) {
  bool typed = false;
  napi_is_typedarray(env, v, &typed);
  napi_typedarray_type type;
  void* data = nullptr;
  if (!typed || napi_get_typedarray_info(env, v, &type, len, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array)
    return false;
  *p = static_cast<const int32_t*>(data);
  return true;
}

// Frees the memory of a constant made for this plan alone (CompiledPlan.owned: nothing else reads it) now,
// by detaching its ArrayBuffer, rather than when the collector finds it: VGG16's folded weights (60 MB) had
// still been held when its first predict peaked. Only an array that is its whole buffer; where the buffer
// cannot be detached it is left to the collector.
void release(napi_env env, napi_ref ref) {
  napi_value v, buffer;
  napi_typedarray_type type;
  size_t len = 0, offset = 0, bytes = 0;
  void* data = nullptr;
  if (napi_get_reference_value(env, ref, &v) != napi_ok || !v) return;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, &buffer, &offset) != napi_ok || offset != 0) return;
  if (napi_get_arraybuffer_info(env, buffer, nullptr, &bytes) != napi_ok || bytes != len * sizeof(float)) return;
  napi_detach_arraybuffer(env, buffer);
}

// Packs an op's weights (its consts[0], `size` floats) with `pack(dst)`: in place when the constant was made for
// this plan alone and the packed layout has its size (batch norm folded into a convolution whose outputs fill
// the panels: no memory beyond what the plan held before packing), else into the plan's own array. A model's
// own weights are copied packed only for products of few rows (batch-1 serving: there every thread packing
// its B blocks on every call cost most, 13% of MobileNet's batch-1 inference) or where the copy is small.
// With more rows the packing is paid for by them: copies at up to 256 rows raised AlexNet8's peak RSS at
// batch 128 by 24 MB (its dense weights) with inference no faster. So peak RSS stays level with before
// packing (first predict at batch 32: ResNet18 406 / 402 MB, VGG16 282 / 283, AlexNet8 172 / 172).
// The column stream's copy pays up to 25 rows (a 5x5 map at batch 1: 20% on AlexNet8's; 4x4: ~2x); at 32 it
// was level with reading B as it is.
constexpr long kPackCopyRows = 64, kColCopyRows = 25, kPackCopySmall = 1L << 18;

// `alone`: no other op reads the constant, so its original layout may go. `which`: the op's constant to pack
// (its kernel: the first, but a depthwise-pointwise pair's pointwise kernel is its third).
template <class PackFn>
bool packWeights(Plan* plan, PlanOp& o, long size, long rows, bool column, bool alone, Scratch& tmp, PackFn pack, size_t which = 0) {
  Const& c = plan->consts[static_cast<size_t>(o.consts[which])];
  if (c.owned && alone && static_cast<size_t>(size) == c.len) {
    float* t = tmp.floats(static_cast<size_t>(size));
    if (!t) return false;
    pack(t);
    float* at = const_cast<float*>(c.p);
    std::memcpy(at, t, static_cast<size_t>(size) * sizeof(float));
    o.packed.borrow(at, static_cast<size_t>(size));
    c.packedIn = true;
    return true;
  }
  if (!c.owned && rows > (column ? kColCopyRows : kPackCopyRows) && size > kPackCopySmall) return true;  // read as it is
  if (!o.packed.allocate(static_cast<size_t>(size))) return false;
  pack(o.packed.data());
  return true;
}

// planCreate(code: Int32Array, consts: Float32Array[], bufferSizes: Int32Array|Float64Array-as-numbers[],
//            inputSize, outputSize[, owned: Uint8Array]) -> external
napi_value PlanCreate(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.count(5)) return nullptr;
  const int32_t* code;
  size_t codeLen;
  if (!readInt32(env, a.arg(0), &code, &codeLen)) return a.fail("code", "an Int32Array"), nullptr;
  // Until it is handed to JavaScript, the plan (and the references it took) is released on every early return.
  struct Guard {
    napi_env env;
    Plan* plan;
    ~Guard() {
      if (plan) finalize(env, plan, nullptr);
    }
  } guard{env, new Plan()};
  Plan* plan = guard.plan;
  plan->isa = activeIsa();
  long inSize, outSize;
  if (!a.size(3, "inputSize", &inSize) || !a.size(4, "outputSize", &outSize)) return nullptr;
  plan->inputSize = inSize;
  plan->outputSize = outSize;

  uint32_t nConsts = 0, nBufs = 0;
  napi_get_array_length(env, a.arg(1), &nConsts);
  napi_get_array_length(env, a.arg(2), &nBufs);
  for (uint32_t i = 0; i < nConsts; ++i) {
    napi_value v;
    napi_get_element(env, a.arg(1), i, &v);
    bool typed = false;
    napi_is_typedarray(env, v, &typed);
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    if (!typed || napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr) != napi_ok || type != napi_float32_array)
      return a.fail("consts", "Float32Arrays"), nullptr;
    Const c{static_cast<const float*>(data), len, nullptr};
    if (napi_create_reference(env, v, 1, &c.ref) != napi_ok) return a.fail("consts", "Float32Arrays"), nullptr;
    plan->consts.push_back(c);
  }
  {  // owned flags: optional (absent: nothing is the plan's own)
    const uint8_t* owned = nullptr;
    size_t ownedLen = 0;
    bool typed = false;
    napi_is_typedarray(env, a.arg(5), &typed);
    if (typed) {
      napi_typedarray_type type;
      void* d = nullptr;
      if (napi_get_typedarray_info(env, a.arg(5), &type, &ownedLen, &d, nullptr, nullptr) != napi_ok || type != napi_uint8_array)
        return a.fail("owned", "a Uint8Array"), nullptr;
      owned = static_cast<const uint8_t*>(d);
    }
    for (size_t k = 0; k < plan->consts.size() && k < ownedLen; ++k) plan->consts[k].owned = owned[k] != 0;
  }
  for (uint32_t i = 0; i < nBufs; ++i) {
    napi_value v;
    double size = 0;
    napi_get_element(env, a.arg(2), i, &v);
    if (napi_get_value_double(env, v, &size) != napi_ok || !(size >= 0)) return a.fail("bufferSizes", "sizes"), nullptr;
    plan->bufferSizes.push_back(static_cast<long>(size));
  }

  Scratch packTmp;  // one layer's packing on its way into a constant's own memory; freed with this call
  // Decode, checking every index against the arrays it names: a malformed code must not reach a kernel.
  size_t i = 0;
  auto next = [&](long* v) {
    if (i >= codeLen) return false;
    *v = code[i++];
    return true;
  };
  while (i < codeLen) {
    PlanOp o;
    long op, act, n;
    if (!next(&op) || !next(&act) || op < 0 || op >= kOps || act < 0 || act > 4) return a.fail("code", "a valid op"), nullptr;
    o.op = static_cast<Op>(op);
    o.act = static_cast<Act>(act);
    long buf;
    if (!next(&buf) || !next(&o.out.off) || !next(&o.outLd) || !next(&n) || n < 0 || n > 8) return a.fail("code", "a valid op"), nullptr;
    o.out.buf = static_cast<int>(buf);
    for (long k = 0; k < n; ++k) {
      Slot s;
      long b;
      if (!next(&b) || !next(&s.off)) return a.fail("code", "a valid op"), nullptr;
      s.buf = static_cast<int>(b);
      o.in.push_back(s);
    }
    if (!next(&n) || n < 0) return a.fail("code", "a valid op"), nullptr;
    for (long k = 0; k < n; ++k) {
      long v;
      if (!next(&v)) return a.fail("code", "a valid op"), nullptr;
      o.ints.push_back(v);
    }
    if (!next(&n) || n < 0) return a.fail("code", "a valid op"), nullptr;
    for (long k = 0; k < n; ++k) {
      long v;
      if (!next(&v) || v < -1 || v >= static_cast<long>(nConsts)) return a.fail("code", "valid constant indices"), nullptr;
      o.consts.push_back(static_cast<int>(v));
    }
    for (const Slot& s : o.in)
      if (s.buf < -2 || s.buf >= static_cast<int>(nBufs) || s.off < 0) return a.fail("code", "valid buffers"), nullptr;
    if (o.out.buf < -2 || o.out.buf >= static_cast<int>(nBufs) || o.out.buf == -1 || o.out.off < 0)
      return a.fail("code", "valid buffers"), nullptr;
    if ((o.op == Op::Conv || o.op == Op::Depthwise) && (o.ints.size() < kGeomFields || o.consts.size() < 2 || o.consts[0] < 0))
      return a.fail("code", "a convolution with its geometry and kernel"), nullptr;
    // A convolution reads its input and optionally its residual summand; every op but a concatenation whose
    // parts were all written in place reads at least one.
    if ((o.in.empty() && o.op != Op::Concat) || (o.op == Op::Conv && o.in.size() > 2) || (o.op == Op::Depthwise && o.in.size() != 1) ||
        (o.op == Op::DepthwisePointwise && o.in.size() > 2))
      return a.fail("code", "an op with its inputs"), nullptr;
    if (o.op == Op::DepthwisePointwise) {
      // The depthwise geometry (multiplier 1), the pointwise outputs and a clip for the depthwise activation;
      // both kernels, sized by them.
      const bool shaped = o.ints.size() >= kGeomFields + 2 && o.consts.size() >= 4 && o.consts[0] >= 0 && o.consts[2] >= 0;
      const Geom g = shaped ? geomOf(o) : Geom{};
      if (!shaped || g.depthMultiplier != 1 || g.outC != g.c || o.ints[kGeomFields] < 1 || o.ints[kGeomFields + 1] < 0 ||
          o.ints[kGeomFields + 1] > 2 || plan->consts[o.consts[0]].len < static_cast<size_t>(g.kh * g.kw * g.c) ||
          plan->consts[o.consts[2]].len < static_cast<size_t>(g.c * o.ints[kGeomFields]))
        return a.fail("code", "a depthwise-pointwise pair with its geometry and kernels"), nullptr;
    }
    if (o.op == Op::Dense && (o.ints.size() < 3 || o.consts.empty() || o.consts[0] < 0 ||
                              plan->consts[o.consts[0]].len < static_cast<size_t>(o.ints[1] * o.ints[2])))
      return a.fail("code", "a dense layer with its sizes and weights"), nullptr;
    if (o.op == Op::Conv) {
      const Geom g = geomOf(o);
      if (plan->consts[o.consts[0]].len < static_cast<size_t>(g.kh * g.kw * g.c * g.outC))
        return a.fail("code", "a convolution with its geometry and kernel"), nullptr;
    }
    plan->ops.push_back(std::move(o));
  }
  // Pack once every op is known: a constant is packed in place only when no other op reads it.
  std::vector<int> uses(plan->consts.size(), 0);
  for (const PlanOp& o : plan->ops)
    for (int ci : o.consts)
      if (ci >= 0) ++uses[static_cast<size_t>(ci)];
  for (PlanOp& o : plan->ops) {
    const bool alone = (o.op == Op::Conv || o.op == Op::Dense) && uses[static_cast<size_t>(o.consts[0])] == 1;
    if (o.op == Op::Conv) {
      const Geom g = geomOf(o);
      const long size = conv2dPackedSize(g);
      const float* w = plan->consts[o.consts[0]].p;
      const long rows = g.n * g.oh * g.ow;
      const bool column = smallPackedSize(rows, g.outC, g.kh * g.kw * g.c) > 0;
      if (size > 0 && !packWeights(plan, o, size, rows, column, alone, packTmp, [&](float* dst) { conv2dPack(w, g, dst); }))
        return outOfMemory(env);
    } else if (o.op == Op::Dense) {
      const long m = o.ints[0], k = o.ints[1], n = o.ints[2];
      const bool small = smallPackedSize(m, n, k) > 0;
      const long size = small ? smallPackedSize(m, n, k) : m > 1 ? gemmPackedSize(n, k) : 0;
      const float* w = plan->consts[o.consts[0]].p;
      if (size > 0 && !packWeights(plan, o, size, m, small, alone, packTmp, [&](float* dst) { small ? smallPack(w, n, n, k, dst) : gemmPack(w, n, k, dst); }))
        return outOfMemory(env);
    } else if (o.op == Op::DepthwisePointwise) {
      // Always packed (the pair runs the main GEMM on tiles of its own, whatever the batch): a copy unless
      // the folded kernel was made for this plan alone.
      const long c = o.ints[3], n = o.ints[kGeomFields];
      const float* w = plan->consts[o.consts[2]].p;
      const bool own = uses[static_cast<size_t>(o.consts[2])] == 1;
      if (!packWeights(plan, o, gemmPackedSize(n, c), 0, false, own, packTmp, [&](float* dst) { gemmPack(w, n, c, dst); }, 2))
        return outOfMemory(env);
    }
  }
  // Constants that only packed copies read (a packed op's kernel or weights) are let go: folded weights, made
  // for this plan alone, are freed (the model's own weights stay the model's), so packing costs no memory for
  // them. One packed in place holds its op's packed weights and stays.
  std::vector<int> reads(plan->consts.size(), 0);
  for (const PlanOp& o : plan->ops)
    for (size_t k = 0; k < o.consts.size(); ++k)
      if (o.consts[k] >= 0 && !(k == (o.op == Op::DepthwisePointwise ? 2 : 0) && !o.packed.empty())) ++reads[static_cast<size_t>(o.consts[k])];
  for (size_t k = 0; k < plan->consts.size(); ++k) {
    Const& c = plan->consts[k];
    if (reads[k] > 0 || !c.ref || c.packedIn) continue;
    if (c.owned) release(env, c.ref);
    napi_delete_reference(env, c.ref);
    c = Const{nullptr, 0, nullptr};
  }
  napi_value ext;
  if (napi_create_external(env, plan, finalize, nullptr, &ext) != napi_ok) return nullptr;
  guard.plan = nullptr;
  return ext;
}

// planRun(plan, x: Float32Array, y: Float32Array[, times: Float64Array]): with `times` (one per op), each
// op's wall time in seconds is added to it (the bench's per-op profile).
napi_value PlanRun(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.count(3)) return nullptr;
  double* times = nullptr;
  {  // missing arguments read as undefined (napi_get_cb_info)
    napi_valuetype t;
    napi_typeof(env, a.arg(3), &t);
    if (t != napi_undefined) {
      bool typed = false;
      napi_is_typedarray(env, a.arg(3), &typed);
      napi_typedarray_type type;
      size_t len = 0;
      void* d = nullptr;
      if (!typed || napi_get_typedarray_info(env, a.arg(3), &type, &len, &d, nullptr, nullptr) != napi_ok ||
          type != napi_float64_array)
        return a.fail("times", "a Float64Array"), nullptr;
      times = static_cast<double*>(d);
      if (len < 1) times = nullptr;
    }
  }
  void* data = nullptr;
  if (napi_get_value_external(env, a.arg(0), &data) != napi_ok || !data) return a.fail("plan", "a plan"), nullptr;
  Plan& p = *static_cast<Plan*>(data);
  F32 x, y;
  if (!a.f32(1, "x", p.inputSize, &x) || !a.f32(2, "y", p.outputSize, &y)) return nullptr;
  if (p.buffers.empty() && !p.bufferSizes.empty()) {
    for (long size : p.bufferSizes) {
      void* b = nullptr;
      if (posix_memalign(&b, 4096, static_cast<size_t>(maxl(size, 16)) * sizeof(float)) != 0) {
        for (float* f : p.buffers) std::free(f);
        p.buffers.clear();
        return outOfMemory(env);
      }
      p.buffers.push_back(static_cast<float*>(b));
    }
  }
  // The plan runs on the kernels its packed weights are laid out for, whichever ISA was selected since.
  struct IsaScope {
    Isa selected;
    explicit IsaScope(Isa planned) : selected(activeIsa()) {
      if (planned != selected) setIsa(planned);
    }
    ~IsaScope() { setIsa(selected); }
  } isaScope(p.isa);
  if (!times) {
    for (const PlanOp& o : p.ops)
      if (!runOp(p, o, x.p, y.p, p.buffers.data())) return outOfMemory(env);
    return nullptr;
  }
  using Clock = std::chrono::steady_clock;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const auto t0 = Clock::now();
    if (!runOp(p, p.ops[i], x.p, y.p, p.buffers.data())) return outOfMemory(env);
    times[i] += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return nullptr;
}

}  // namespace

void definePlan(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"planCreate", nullptr, PlanCreate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"planRun", nullptr, PlanRun, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, 2, props);
}

}  // namespace ck
