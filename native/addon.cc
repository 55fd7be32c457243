// The N-API surface of convkit_native.node. Each binding checks its arguments (types and lengths against
// the geometry, so a kernel can never run past an array) and calls one kernel. Outputs are allocated by the
// caller in JavaScript and written in place; nothing is copied.
#include <node_api.h>

#include <vector>

#include "gemm.h"
#include "isa.h"
#include "kernels.h"
#include "napi_util.h"
#include "threadpool.h"

namespace ck {
namespace {

// matmul(a, b, out, m, k, n, transA, transB)
napi_value Matmul(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long m, k, n;
  bool ta, tb;
  F32 x, y, out;
  if (!a.count(8) || !a.size(3, "m", &m) || !a.size(4, "k", &k) || !a.size(5, "n", &n) ||
      !a.boolean(6, "transA", &ta) || !a.boolean(7, "transB", &tb) || !a.f32(0, "a", m * k, &x) ||
      !a.f32(1, "b", k * n, &y) || !a.f32(2, "out", m * n, &out)) {
    return nullptr;
  }
  if (!matmul(x.p, y.p, out.p, m, k, n, ta, tb)) return outOfMemory(env);
  return nullptr;
}

// The six convolution passes share one binding: (in0, in1, out, geometry), with the roles of the three
// arrays given by the pass. Function data carries the pass.
enum class ConvPass { Forward, BackpropInput, BackpropFilter, DwForward, DwBackpropInput, DwBackpropFilter };

napi_value Conv(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const ConvPass pass = static_cast<ConvPass>(reinterpret_cast<intptr_t>(a.data()));
  Geom g;
  if (!a.count(4) || !a.geom(3, &g)) return nullptr;
  const bool depthwise = pass >= ConvPass::DwForward;
  if (depthwise && g.outC != g.c * g.depthMultiplier) {
    return a.fail("geometry", "outC = c * depthMultiplier for a depthwise convolution"), nullptr;
  }
  const long xs = g.n * g.h * g.w * g.c, ys = g.n * g.oh * g.ow * g.outC;
  const long ws = depthwise ? g.kh * g.kw * g.outC : g.kh * g.kw * g.c * g.outC;
  F32 p0, p1, out;
  bool ok = true;
  switch (pass) {
    case ConvPass::Forward:
    case ConvPass::DwForward:
      if (!a.f32(0, "x", xs, &p0) || !a.f32(1, "w", ws, &p1) || !a.f32(2, "y", ys, &out)) return nullptr;
      if (!depthwise) {
        // Optional 5th argument: the bias, added in the GEMM's epilogue (missing arguments read as undefined).
        F32 bias;
        if (!a.f32(4, "bias", g.outC, &bias, true)) return nullptr;
        const Epilogue ep{bias.p, Act::Linear};
        ok = conv2dEx(p0.p, p1.p, out.p, g, g.outC, bias.p ? &ep : nullptr);
        break;
      }
      ok = depthwiseConv2d(p0.p, p1.p, out.p, g);
      break;
    case ConvPass::BackpropInput:
    case ConvPass::DwBackpropInput:
      if (!a.f32(0, "dy", ys, &p0) || !a.f32(1, "w", ws, &p1) || !a.f32(2, "dx", xs, &out)) return nullptr;
      ok = depthwise ? depthwiseConv2dBackpropInput(p0.p, p1.p, out.p, g) : conv2dBackpropInput(p0.p, p1.p, out.p, g);
      break;
    case ConvPass::BackpropFilter:
    case ConvPass::DwBackpropFilter:
      if (!a.f32(0, "x", xs, &p0) || !a.f32(1, "dy", ys, &p1) || !a.f32(2, "dw", ws, &out)) return nullptr;
      ok = depthwise ? depthwiseConv2dBackpropFilter(p0.p, p1.p, out.p, g) : conv2dBackpropFilter(p0.p, p1.p, out.p, g);
      break;
  }
  return ok ? nullptr : outOfMemory(env);
}

// Test-only entries to the inference forward passes (kernels.h): convForwardEx(x, w, y, g, ldy, bias | null,
// act[, pack[, addend]]) runs conv2dEx, y holding oh*ow*n rows `ldy` floats apart (outC of them written), with
// the kernel packed first as an inference plan packs it when `pack` is true, and a residual summand (dense
// [rows, outC]) in the epilogue when `addend` is given;
// depthwiseForwardEx(x, w, y, g, bias | null, act[, undefined, addend]) runs depthwiseConv2dEx. act: an Act
// code (0 to 4).
napi_value ConvForwardEx(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const bool depthwise = a.data() != nullptr;
  const size_t bi = depthwise ? 4 : 5;
  Geom g;
  long ldy = 0, act;
  F32 x, w, y, bias;
  if (!a.count(bi + 2) || !a.geom(3, &g) || (!depthwise && !a.size(4, "ldy", &ldy)) || !a.size(bi + 1, "act", &act)) {
    return nullptr;
  }
  if (depthwise && g.outC != g.c * g.depthMultiplier) {
    return a.fail("geometry", "outC = c * depthMultiplier for a depthwise convolution"), nullptr;
  }
  if (depthwise) ldy = g.outC;
  if (ldy < g.outC) return a.fail("ldy", "at least outC"), nullptr;
  if (act > 4) return a.fail("act", "an activation code 0 to 4"), nullptr;
  const long rows = g.n * g.oh * g.ow;
  const long ws = depthwise ? g.kh * g.kw * g.outC : g.kh * g.kw * g.c * g.outC;
  if (!a.f32(0, "x", g.n * g.h * g.w * g.c, &x) || !a.f32(1, "w", ws, &w) ||
      !a.f32(2, "y", rows > 0 ? (rows - 1) * ldy + g.outC : 0, &y) || !a.f32(bi, "bias", g.outC, &bias, true)) {
    return nullptr;
  }
  F32 addend;
  if (!a.f32(bi + 3, "addend", rows * g.outC, &addend, true)) return nullptr;
  const Epilogue ep{bias.p, static_cast<Act>(act), addend.p, g.outC};
  std::vector<float> packed;
  bool pack = false;  // an absent argument reads as undefined: not a boolean, pack stays false
  napi_get_value_bool(env, a.arg(bi + 2), &pack);
  if (!depthwise && pack) {
    packed.resize(static_cast<size_t>(conv2dPackedSize(g)));
    if (!packed.empty()) conv2dPack(w.p, g, packed.data());
  }
  const bool ok = depthwise ? depthwiseConv2dEx(x.p, w.p, y.p, g, &ep)
                            : conv2dEx(x.p, w.p, y.p, g, ldy, &ep, packed.empty() ? nullptr : packed.data());
  return ok ? nullptr : outOfMemory(env);
}

// Pools: maxPool(x, y, g), avgPool(x, y, g), maxPoolBackward(x, dy, dx, g), avgPoolBackward(dy, dx, g).
enum class PoolPass { Max, Avg, MaxBackward, AvgBackward };

napi_value Pool(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const PoolPass pass = static_cast<PoolPass>(reinterpret_cast<intptr_t>(a.data()));
  const size_t gi = pass == PoolPass::MaxBackward ? 3 : 2;
  Geom g;
  if (!a.count(gi + 1) || !a.geom(gi, &g)) return nullptr;
  g.dh = g.dw = 1;
  const long xs = g.n * g.h * g.w * g.c, ys = g.n * g.oh * g.ow * g.c;
  F32 x, y, dy, dx;
  switch (pass) {
    case PoolPass::Max:
    case PoolPass::Avg:
      if (!a.f32(0, "x", xs, &x) || !a.f32(1, "y", ys, &y)) return nullptr;
      if (pass == PoolPass::Max) maxPool(x.p, y.p, g);
      else avgPool(x.p, y.p, g);
      return nullptr;
    case PoolPass::MaxBackward:
      if (!a.f32(0, "x", xs, &x) || !a.f32(1, "dy", ys, &dy) || !a.f32(2, "dx", xs, &dx)) return nullptr;
      return maxPoolBackward(x.p, dy.p, dx.p, g) ? nullptr : outOfMemory(env);
    case PoolPass::AvgBackward:
      if (!a.f32(0, "dy", ys, &dy) || !a.f32(1, "dx", xs, &dx)) return nullptr;
      avgPoolBackward(dy.p, dx.p, g);
      return nullptr;
  }
  return nullptr;
}

// Global pools over x [n, hw, c]: forward (x, y, n, hw, c); backward avg (dy, dx, n, hw, c);
// backward max (x, dy, dx, n, hw, c).
enum class GlobalPass { Avg, Max, AvgBackward, MaxBackward };

napi_value GlobalPool(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const GlobalPass pass = static_cast<GlobalPass>(reinterpret_cast<intptr_t>(a.data()));
  const size_t si = pass == GlobalPass::MaxBackward ? 3 : 2;
  long n, hw, c;
  if (!a.count(si + 3) || !a.size(si, "n", &n) || !a.size(si + 1, "hw", &hw) || !a.size(si + 2, "c", &c)) return nullptr;
  F32 x, y, dy, dx;
  switch (pass) {
    case GlobalPass::Avg:
    case GlobalPass::Max:
      if (!a.f32(0, "x", n * hw * c, &x) || !a.f32(1, "y", n * c, &y)) return nullptr;
      if (pass == GlobalPass::Avg) globalAvgPool(x.p, y.p, n, hw, c);
      else globalMaxPool(x.p, y.p, n, hw, c);
      break;
    case GlobalPass::AvgBackward:
      if (!a.f32(0, "dy", n * c, &dy) || !a.f32(1, "dx", n * hw * c, &dx)) return nullptr;
      globalAvgPoolBackward(dy.p, dx.p, n, hw, c);
      break;
    case GlobalPass::MaxBackward:
      if (!a.f32(0, "x", n * hw * c, &x) || !a.f32(1, "dy", n * c, &dy) || !a.f32(2, "dx", n * hw * c, &dx)) return nullptr;
      globalMaxPoolBackward(x.p, dy.p, dx.p, n, hw, c);
      break;
  }
  return nullptr;
}

// The activation fused after batch norm: 0 linear, 1 relu, 2 relu6 (Act codes).
bool fusedAct(const Args& a, size_t i, Act* act) {
  long code;
  if (!a.size(i, "activation", &code)) return false;
  if (code > 2) return a.fail("activation", "0 (linear), 1 (relu) or 2 (relu6)"), false;
  *act = static_cast<Act>(code);
  return true;
}

// batchNormTrain(x, gamma, beta, y, mean, variance, c, eps, activation)
napi_value BatchNormTrain(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long c, rows;
  double eps;
  Act act;
  F32 x, gamma, beta, y, mean, var;
  if (!a.count(9) || !a.size(6, "c", &c) || !a.number(7, "eps", &eps) || !fusedAct(a, 8, &act) ||
      !a.f32(0, "x", 0, &x) || !rowsOf(a, x, c, &rows) || !a.f32(1, "gamma", c, &gamma) ||
      !a.f32(2, "beta", c, &beta) || !a.f32(3, "y", x.len, &y) || !a.f32(4, "mean", c, &mean) ||
      !a.f32(5, "variance", c, &var)) {
    return nullptr;
  }
  if (!batchNormTrain(x.p, gamma.p, beta.p, y.p, mean.p, var.p, rows, c, eps, act)) return outOfMemory(env);
  return nullptr;
}

// batchNormTrainBackward(x, dy, beta, gamma, mean, variance, dx, dgamma, dbeta, c, eps, activation); beta is read
// only when an activation is fused (to recompute its input).
napi_value BatchNormTrainBackward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long c, rows;
  double eps;
  Act act;
  F32 x, dy, beta, gamma, mean, var, dx, dgamma, dbeta;
  if (!a.count(12) || !a.size(9, "c", &c) || !a.number(10, "eps", &eps) || !fusedAct(a, 11, &act) ||
      !a.f32(0, "x", 0, &x) || !rowsOf(a, x, c, &rows) || !a.f32(1, "dy", x.len, &dy) ||
      !a.f32(2, "beta", c, &beta) || !a.f32(3, "gamma", c, &gamma) || !a.f32(4, "mean", c, &mean) ||
      !a.f32(5, "variance", c, &var) || !a.f32(6, "dx", x.len, &dx) || !a.f32(7, "dgamma", c, &dgamma) ||
      !a.f32(8, "dbeta", c, &dbeta)) {
    return nullptr;
  }
  if (!batchNormTrainBackward(x.p, dy.p, beta.p, gamma.p, mean.p, var.p, dx.p, dgamma.p, dbeta.p, rows, c, eps, act)) {
    return outOfMemory(env);
  }
  return nullptr;
}

// channelAffine(x, scale, shift, y, c, activation); biasAdd(x, bias, y, c); sumRows(x, y, c)
napi_value ChannelAffine(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long c, rows;
  Act act;
  F32 x, s, t, y;
  if (!a.count(6) || !a.size(4, "c", &c) || !fusedAct(a, 5, &act) || !a.f32(0, "x", 0, &x) ||
      !rowsOf(a, x, c, &rows) || !a.f32(1, "scale", c, &s) || !a.f32(2, "shift", c, &t) || !a.f32(3, "y", x.len, &y)) {
    return nullptr;
  }
  channelAffine(x.p, s.p, t.p, y.p, rows, c, act);
  return nullptr;
}

napi_value BiasAdd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long c, rows;
  F32 x, bias, y;
  if (!a.count(4) || !a.size(3, "c", &c) || !a.f32(0, "x", 0, &x) || !rowsOf(a, x, c, &rows) ||
      !a.f32(1, "bias", c, &bias) || !a.f32(2, "y", x.len, &y)) {
    return nullptr;
  }
  biasAdd(x.p, bias.p, y.p, rows, c);
  return nullptr;
}

napi_value SumRows(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long c, rows;
  F32 x, y;
  if (!a.count(3) || !a.size(2, "c", &c) || !a.f32(0, "x", 0, &x) || !rowsOf(a, x, c, &rows) || !a.f32(1, "y", c, &y)) {
    return nullptr;
  }
  return sumRows(x.p, y.p, rows, c) ? nullptr : outOfMemory(env);
}

}  // namespace

// Defined in addon_elementwise.cc: elementwise, activation, softmax, reductions, optimizers, controls.
void defineElementwise(napi_env env, napi_value exports);
// Defined in plan.cc: planCreate, planRun (inference plans).
void definePlan(napi_env env, napi_value exports);
// Defined in peak.cc: fmaPeak(milliseconds, threads) -> GFLOP/s, the benchmark's yardstick.
napi_value FmaPeak(napi_env env, napi_callback_info info);

namespace {

napi_value Init(napi_env env, napi_value exports) {
  auto fn = [](const char* name, napi_callback cb, intptr_t data = 0) {
    return napi_property_descriptor{name, nullptr, cb, nullptr, nullptr, nullptr, napi_enumerable,
                                    reinterpret_cast<void*>(data)};
  };
  const napi_property_descriptor props[] = {
      fn("matmul", Matmul),
      fn("conv2d", Conv, static_cast<intptr_t>(ConvPass::Forward)),
      fn("conv2dBackpropInput", Conv, static_cast<intptr_t>(ConvPass::BackpropInput)),
      fn("conv2dBackpropFilter", Conv, static_cast<intptr_t>(ConvPass::BackpropFilter)),
      fn("depthwiseConv2d", Conv, static_cast<intptr_t>(ConvPass::DwForward)),
      fn("depthwiseConv2dBackpropInput", Conv, static_cast<intptr_t>(ConvPass::DwBackpropInput)),
      fn("depthwiseConv2dBackpropFilter", Conv, static_cast<intptr_t>(ConvPass::DwBackpropFilter)),
      fn("convForwardEx", ConvForwardEx),
      fn("depthwiseForwardEx", ConvForwardEx, 1),
      fn("maxPool", Pool, static_cast<intptr_t>(PoolPass::Max)),
      fn("avgPool", Pool, static_cast<intptr_t>(PoolPass::Avg)),
      fn("maxPoolBackward", Pool, static_cast<intptr_t>(PoolPass::MaxBackward)),
      fn("avgPoolBackward", Pool, static_cast<intptr_t>(PoolPass::AvgBackward)),
      fn("globalAvgPool", GlobalPool, static_cast<intptr_t>(GlobalPass::Avg)),
      fn("globalMaxPool", GlobalPool, static_cast<intptr_t>(GlobalPass::Max)),
      fn("globalAvgPoolBackward", GlobalPool, static_cast<intptr_t>(GlobalPass::AvgBackward)),
      fn("globalMaxPoolBackward", GlobalPool, static_cast<intptr_t>(GlobalPass::MaxBackward)),
      fn("batchNormTrain", BatchNormTrain),
      fn("batchNormTrainBackward", BatchNormTrainBackward),
      fn("channelAffine", ChannelAffine),
      fn("biasAdd", BiasAdd),
      fn("sumRows", SumRows),
      fn("fmaPeak", FmaPeak),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  defineElementwise(env, exports);
  definePlan(env, exports);
  return exports;
}

}  // namespace
}  // namespace ck

NAPI_MODULE_INIT() { return ck::Init(env, exports); }
