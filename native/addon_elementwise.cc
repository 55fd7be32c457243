// N-API bindings of the small ops (elementwise, activations, softmax, reductions, optimizer steps) and the
// controls (info, setThreads, setIsa). Split from addon.cc to keep files short.
#include <node_api.h>

#include "isa.h"
#include "kernels.h"
#include "napi_util.h"
#include "threadpool.h"
#include "winograd.h"

namespace ck {
namespace {

// add/sub/mul(a, b, y): function data is the Binary op.
napi_value BinaryOp(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 x, y, out;
  if (!a.count(3) || !a.f32(0, "a", 0, &x) || !a.f32(1, "b", x.len, &y) || !a.f32(2, "out", x.len, &out)) return nullptr;
  binary(static_cast<Binary>(reinterpret_cast<intptr_t>(a.data())), x.p, y.p, out.p, static_cast<long>(x.len));
  return nullptr;
}

// addN(parts, y): parts is an array of 2 to 8 Float32Arrays, each at least as long as y.
napi_value AddN(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 out;
  if (!a.count(2) || !a.f32(1, "out", 0, &out)) return nullptr;
  uint32_t k = 0;
  bool isArray = false;
  napi_is_array(env, a.arg(0), &isArray);
  if (!isArray || napi_get_array_length(env, a.arg(0), &k) != napi_ok || k < 2 || k > 8) {
    return a.fail("parts", "an array of 2 to 8 Float32Arrays"), nullptr;
  }
  const float* parts[8];
  for (uint32_t j = 0; j < k; ++j) {
    napi_value v;
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    bool isTyped = false;
    if (napi_get_element(env, a.arg(0), j, &v) != napi_ok || napi_is_typedarray(env, v, &isTyped) != napi_ok || !isTyped ||
        napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr) != napi_ok || type != napi_float32_array ||
        len < out.len) {
      return a.fail("parts", "Float32Arrays at least as long as out"), nullptr;
    }
    parts[j] = static_cast<const float*>(data);
  }
  addN(parts, static_cast<int>(k), out.p, static_cast<long>(out.len));
  return nullptr;
}

// scale(a, s, y)
napi_value Scale(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 x, out;
  double s;
  if (!a.count(3) || !a.f32(0, "a", 0, &x) || !a.number(1, "s", &s) || !a.f32(2, "out", x.len, &out)) return nullptr;
  scale(x.p, s, out.p, static_cast<long>(x.len));
  return nullptr;
}

// sum(a) / sumSquares(a) -> number; function data 1 selects squares.
napi_value Reduce(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 x;
  if (!a.count(1) || !a.f32(0, "a", 0, &x)) return nullptr;
  const long n = static_cast<long>(x.len);
  return numberValue(env, a.data() ? sumSquares(x.p, n) : sum(x.p, n));
}

// allFinite(a) -> boolean
napi_value AllFinite(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 x;
  if (!a.count(1) || !a.f32(0, "a", 0, &x)) return nullptr;
  napi_value r;
  napi_get_boolean(env, allFinite(x.p, static_cast<long>(x.len)), &r);
  return r;
}

// dropout(x, rate, seed, y)
napi_value Dropout(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 x, out;
  double rate, seed;
  if (!a.count(4) || !a.f32(0, "x", 0, &x) || !a.number(1, "rate", &rate) || !a.number(2, "seed", &seed) ||
      !a.f32(3, "out", x.len, &out))
    return nullptr;
  if (!(rate >= 0 && rate < 1)) return a.fail("rate", "a number in [0, 1)"), nullptr;
  if (!(seed >= 0 && seed <= 4294967295.0) || seed != static_cast<double>(static_cast<uint32_t>(seed)))
    return a.fail("seed", "an integer in 0..2^32-1"), nullptr;
  dropout(x.p, rate, static_cast<uint32_t>(seed), out.p, static_cast<long>(x.len));
  return nullptr;
}

// copyRows(src, srcOffset, srcStride, srcBlockStride, dst, dstOffset, dstStride, dstBlockStride, blocks, rows,
// width): every index is checked against both arrays before anything is copied.
napi_value CopyRows(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 src, dst;
  long so, ss, sb, dOff, ds, db, blocks, rows, width;
  if (!a.count(11) || !a.f32(0, "src", 0, &src) || !a.size(1, "srcOffset", &so) || !a.size(2, "srcStride", &ss) ||
      !a.size(3, "srcBlockStride", &sb) || !a.f32(4, "dst", 0, &dst) || !a.size(5, "dstOffset", &dOff) ||
      !a.size(6, "dstStride", &ds) || !a.size(7, "dstBlockStride", &db) || !a.size(8, "blocks", &blocks) ||
      !a.size(9, "rows", &rows) || !a.size(10, "width", &width))
    return nullptr;
  if (blocks == 0 || rows == 0 || width == 0) return nullptr;
  const auto last = [&](long off, long stride, long blockStride) {
    return off + (blocks - 1) * blockStride + (rows - 1) * stride + width;
  };
  if (last(so, ss, sb) > static_cast<long>(src.len)) return a.fail("src", "an array holding every row"), nullptr;
  if (last(dOff, ds, db) > static_cast<long>(dst.len)) return a.fail("dst", "an array holding every row"), nullptr;
  copyRows(src.p + so, ss, sb, dst.p + dOff, ds, db, blocks, rows, width);
  return nullptr;
}

// gatherRows(src, rowLength, indices, dst): every index is checked against src, and dst's length against the
// rows asked for, before anything is copied.
napi_value GatherRows(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 src, dst;
  long rowLength;
  const int32_t* idx = nullptr;
  size_t count = 0;
  if (!a.count(4) || !a.f32(0, "src", 0, &src) || !a.size(1, "rowLength", &rowLength) || !a.i32(2, "indices", &idx, &count))
    return nullptr;
  if (rowLength == 0) return a.fail("rowLength", "a positive integer"), nullptr;
  if (!a.f32(3, "dst", count * static_cast<size_t>(rowLength), &dst)) return nullptr;
  const long rows = static_cast<long>(src.len) / rowLength;
  for (size_t i = 0; i < count; ++i)
    if (idx[i] < 0 || idx[i] >= rows) return a.fail("indices", "row numbers of src"), nullptr;
  gatherRows(src.p, rowLength, idx, static_cast<long>(count), dst.p);
  return nullptr;
}

bool actKind(const Args& a, size_t i, Act* kind) {
  long k;
  if (!a.size(i, "kind", &k) || k > static_cast<long>(Act::Tanh)) return a.fail("kind", "an activation code 0..4");
  *kind = static_cast<Act>(k);
  return true;
}

// activation(kind, x, y)
napi_value Activation(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Act kind;
  F32 x, y;
  if (!a.count(3) || !actKind(a, 0, &kind) || !a.f32(1, "x", 0, &x) || !a.f32(2, "y", x.len, &y)) return nullptr;
  activation(kind, x.p, y.p, static_cast<long>(x.len));
  return nullptr;
}

// activationBackward(kind, x, y, dy, dx)
napi_value ActivationBackward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Act kind;
  F32 x, y, dy, dx;
  if (!a.count(5) || !actKind(a, 0, &kind) || !a.f32(3, "dy", 0, &dy) || !a.f32(1, "x", dy.len, &x) ||
      !a.f32(2, "y", dy.len, &y) || !a.f32(4, "dx", dy.len, &dx)) {
    return nullptr;
  }
  activationBackward(kind, x.p, y.p, dy.p, dx.p, static_cast<long>(dy.len));
  return nullptr;
}

// softmax(x, y, c)
napi_value Softmax(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long c, rows;
  F32 x, y;
  if (!a.count(3) || !a.size(2, "c", &c) || !a.f32(0, "x", 0, &x) || !rowsOf(a, x, c, &rows) || !a.f32(1, "y", x.len, &y)) {
    return nullptr;
  }
  softmax(x.p, y.p, rows, c);
  return nullptr;
}

// softmaxBackward(y, dy, dx, c)
napi_value SoftmaxBackward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long c, rows;
  F32 y, dy, dx;
  if (!a.count(4) || !a.size(3, "c", &c) || !a.f32(0, "y", 0, &y) || !rowsOf(a, y, c, &rows) ||
      !a.f32(1, "dy", y.len, &dy) || !a.f32(2, "dx", y.len, &dx)) {
    return nullptr;
  }
  softmaxBackward(y.p, dy.p, dx.p, rows, c);
  return nullptr;
}

// adamUpdate(param, grad, m, v, alpha, beta1, beta2, epsilon); alpha has the bias correction folded in.
napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 p, g, m, v;
  double alpha, b1, b2, eps;
  if (!a.count(8) || !a.f32(0, "param", 0, &p) || !a.f32(1, "grad", p.len, &g) || !a.f32(2, "m", p.len, &m) ||
      !a.f32(3, "v", p.len, &v) || !a.number(4, "alpha", &alpha) || !a.number(5, "beta1", &b1) ||
      !a.number(6, "beta2", &b2) || !a.number(7, "epsilon", &eps)) {
    return nullptr;
  }
  adamUpdate(p.p, g.p, m.p, v.p, static_cast<long>(p.len), alpha, b1, b2, eps);
  return nullptr;
}

// sgdUpdate(param, grad, velocity | null, lr, momentum, nesterov)
napi_value SgdUpdate(napi_env env, napi_callback_info info) {
  Args a(env, info);
  F32 p, g, vel;
  double lr, momentum;
  bool nesterov;
  if (!a.count(6) || !a.f32(0, "param", 0, &p) || !a.f32(1, "grad", p.len, &g) ||
      !a.f32(2, "velocity", p.len, &vel, true) || !a.number(3, "lr", &lr) || !a.number(4, "momentum", &momentum) ||
      !a.boolean(5, "nesterov", &nesterov)) {
    return nullptr;
  }
  sgdUpdate(p.p, g.p, vel.p, static_cast<long>(p.len), lr, momentum, nesterov);
  return nullptr;
}

napi_value stringValue(napi_env env, const char* s) {
  napi_value r;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r);
  return r;
}

// info() -> { isa, bestIsa, threads, winograd }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, winograd;
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "isa", stringValue(env, isaName(activeIsa())));
  napi_set_named_property(env, obj, "bestIsa", stringValue(env, isaName(detectIsa())));
  napi_set_named_property(env, obj, "threads", numberValue(env, threadCount()));
  napi_get_boolean(env, winogradEnabled(), &winograd);
  napi_set_named_property(env, obj, "winograd", winograd);
  return obj;
}

// setThreads(n)
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long n;
  if (!a.count(1) || !a.size(0, "n", &n)) return nullptr;
  if (n < 1 || n > 256) return a.fail("n", "an integer in 1..256"), nullptr;
  setThreadCount(static_cast<int>(n));
  return nullptr;
}

// setIsa(name) -> boolean (false when this CPU lacks it)
napi_value SetIsa(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.count(1)) return nullptr;
  char name[16] = {0};
  size_t len = 0;
  Isa isa;
  if (napi_get_value_string_utf8(env, a.arg(0), name, sizeof name, &len) != napi_ok || !parseIsa(name, &isa)) {
    return a.fail("isa", "'portable', 'avx2' or 'avx512'"), nullptr;
  }
  napi_value r;
  napi_get_boolean(env, setIsa(isa), &r);
  return r;
}

// alignOffset(buffer: ArrayBuffer) -> the bytes (0 to 60, a multiple of 4) from the start of buffer's memory to
// its first 64-byte boundary. The native backend allocates large outputs as an ArrayBuffer 60 bytes longer than
// they need (in JavaScript, which throws a RangeError when memory runs out where napi_create_arraybuffer aborts
// the process) and views it from that offset: Node's large arrays start 16 bytes past a page (malloc's header),
// so every 64-byte vector load of a kernel that walks them unpacked (depthwise, batch norm, the elementwise
// family) straddled two cache lines.
napi_value AlignOffset(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.count(1)) return nullptr;
  void* data = nullptr;
  size_t length = 0;
  bool isBuffer = false;
  if (napi_is_arraybuffer(env, a.arg(0), &isBuffer) != napi_ok || !isBuffer ||
      napi_get_arraybuffer_info(env, a.arg(0), &data, &length) != napi_ok) {
    return a.fail("buffer", "an ArrayBuffer"), nullptr;
  }
  constexpr uintptr_t kAlign = 64;
  return numberValue(env, static_cast<double>((kAlign - reinterpret_cast<uintptr_t>(data) % kAlign) % kAlign));
}

}  // namespace

void defineElementwise(napi_env env, napi_value exports) {
  auto fn = [](const char* name, napi_callback cb, intptr_t data = 0) {
    return napi_property_descriptor{name, nullptr, cb, nullptr, nullptr, nullptr, napi_enumerable,
                                    reinterpret_cast<void*>(data)};
  };
  const napi_property_descriptor props[] = {
      fn("add", BinaryOp, static_cast<intptr_t>(Binary::Add)),
      fn("sub", BinaryOp, static_cast<intptr_t>(Binary::Sub)),
      fn("mul", BinaryOp, static_cast<intptr_t>(Binary::Mul)),
      fn("addN", AddN),
      fn("scale", Scale),
      fn("sum", Reduce, 0),
      fn("sumSquares", Reduce, 1),
      fn("allFinite", AllFinite),
      fn("dropout", Dropout),
      fn("activation", Activation),
      fn("activationBackward", ActivationBackward),
      fn("softmax", Softmax),
      fn("copyRows", CopyRows),
      fn("gatherRows", GatherRows),
      fn("softmaxBackward", SoftmaxBackward),
      fn("adamUpdate", AdamUpdate),
      fn("sgdUpdate", SgdUpdate),
      fn("info", Info),
      fn("alignOffset", AlignOffset),
      fn("setThreads", SetThreads),
      fn("setIsa", SetIsa),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace ck
