// Argument unpacking for the N-API bindings (plain C N-API, node_api.h). Every failure throws a JavaScript
// TypeError/RangeError naming the argument, and the binding returns nullptr (undefined) at once.
#pragma once

#include <node_api.h>

#include <cstdio>

#include "common.h"

namespace ck {

// A Float32Array viewed in place: no copy, the kernel reads and writes JavaScript's memory directly.
struct F32 {
  float* p = nullptr;
  size_t len = 0;
};

class Args {
 public:
  static constexpr size_t kMax = 12;

  Args(napi_env env, napi_callback_info info) : env_(env) {
    argc_ = kMax;
    if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, &data_) != napi_ok) argc_ = 0;
  }

  napi_env env() const { return env_; }
  void* data() const { return data_; }
  napi_value arg(size_t i) const { return argv_[i]; }

  bool count(size_t n) const {
    if (argc_ >= n) return true;
    char msg[96];
    std::snprintf(msg, sizeof msg, "convkit native: expected %zu arguments, received %zu", n, argc_);
    napi_throw_type_error(env_, nullptr, msg);
    return false;
  }

  // A Float32Array holding at least `need` values (null allowed only when `optional`).
  bool f32(size_t i, const char* name, size_t need, F32* out, bool optional = false) const {
    napi_valuetype t;
    napi_typeof(env_, argv_[i], &t);
    if (optional && (t == napi_null || t == napi_undefined)) return true;
    bool isTyped = false;
    napi_is_typedarray(env_, argv_[i], &isTyped);
    napi_typedarray_type type;
    void* data = nullptr;
    size_t len = 0;
    if (!isTyped || napi_get_typedarray_info(env_, argv_[i], &type, &len, &data, nullptr, nullptr) != napi_ok ||
        type != napi_float32_array) {
      return fail(name, "a Float32Array");
    }
    if (len < need) {
      char msg[160];
      std::snprintf(msg, sizeof msg, "convkit native: argument '%s' expected at least %zu values, received %zu", name, need, len);
      napi_throw_range_error(env_, nullptr, msg);
      return false;
    }
    out->p = static_cast<float*>(data);
    out->len = len;
    return true;
  }

  bool number(size_t i, const char* name, double* out) const {
    if (napi_get_value_double(env_, argv_[i], out) != napi_ok) return fail(name, "a number");
    return true;
  }

  // A non-negative integer (sizes and counts).
  bool size(size_t i, const char* name, long* out) const {
    double v;
    if (!number(i, name, &v)) return false;
    if (!(v >= 0) || v != static_cast<double>(static_cast<long>(v))) return fail(name, "a non-negative integer");
    *out = static_cast<long>(v);
    return true;
  }

  // An Int32Array (its values and length).
  bool i32(size_t i, const char* name, const int32_t** p, size_t* len) const {
    bool isTyped = false;
    napi_is_typedarray(env_, argv_[i], &isTyped);
    napi_typedarray_type type;
    void* data = nullptr;
    if (!isTyped || napi_get_typedarray_info(env_, argv_[i], &type, len, &data, nullptr, nullptr) != napi_ok ||
        type != napi_int32_array) {
      return fail(name, "an Int32Array");
    }
    *p = static_cast<const int32_t*>(data);
    return true;
  }

  bool boolean(size_t i, const char* name, bool* out) const {
    if (napi_get_value_bool(env_, argv_[i], out) != napi_ok) return fail(name, "a boolean");
    return true;
  }

  // Geometry packed by the loader into an Int32Array of kGeomFields values (see Geom).
  bool geom(size_t i, Geom* g) const {
    bool isTyped = false;
    napi_is_typedarray(env_, argv_[i], &isTyped);
    napi_typedarray_type type;
    void* data = nullptr;
    size_t len = 0;
    if (!isTyped || napi_get_typedarray_info(env_, argv_[i], &type, &len, &data, nullptr, nullptr) != napi_ok ||
        type != napi_int32_array || len < static_cast<size_t>(kGeomFields)) {
      return fail("geometry", "an Int32Array of 18 fields");
    }
    const int32_t* v = static_cast<const int32_t*>(data);
    long* f = &g->n;
    for (int k = 0; k < kGeomFields; ++k) f[k] = v[k];
    // Kernels index with these; reject what would make them read out of bounds or divide by zero.
    bool ok = g->n >= 0 && g->h >= 0 && g->w >= 0 && g->c >= 0 && g->kh >= 1 && g->kw >= 1 && g->sh >= 1 &&
              g->sw >= 1 && g->dh >= 1 && g->dw >= 1 && g->padTop >= 0 && g->padBottom >= 0 && g->padLeft >= 0 &&
              g->padRight >= 0 && g->oh >= 0 && g->ow >= 0 && g->outC >= 0 && g->depthMultiplier >= 1;
    return ok ? true : fail("geometry", "non-negative sizes and positive kernel, stride and dilation");
  }

  bool fail(const char* name, const char* expected) const {
    char msg[160];
    std::snprintf(msg, sizeof msg, "convkit native: argument '%s' expected %s", name, expected);
    napi_throw_type_error(env_, nullptr, msg);
    return false;
  }

 private:
  napi_env env_;
  size_t argc_ = 0;
  napi_value argv_[kMax];
  void* data_ = nullptr;
};

// Rows of x [rows, c] from its length: c must divide it.
inline bool rowsOf(const Args& a, const F32& x, long c, long* rows) {
  if (x.len == 0) {
    *rows = 0;
    return true;
  }
  if (c <= 0 || x.len % static_cast<size_t>(c) != 0) return a.fail("c", "a positive divisor of the array length");
  *rows = static_cast<long>(x.len) / c;
  return true;
}

inline napi_value numberValue(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

inline napi_value outOfMemory(napi_env env) {
  napi_throw_error(env, nullptr, "convkit native: out of memory for kernel workspace");
  return nullptr;
}

}  // namespace ck
