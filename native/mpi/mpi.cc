// convkit_mpi: the optional MPI addon of src/dist (data-parallel training). Built only where MPI is installed,
// by scripts/build-native.mjs through native/mpi/binding.gyp, with the flags `mpicxx --showme` gives.
// Plain C N-API (node_api.h); every call is synchronous on the main thread.
//
// Trap (open-mpi/ompi#3705): Node loads an addon, and so the libmpi it links, with RTLD_LOCAL. Open MPI then
// dlopen()s its MCA plugins, which need libmpi's symbols and fail to resolve them. init() therefore re-opens
// the already loaded libmpi with RTLD_GLOBAL (found through dladdr on MPI_Init, so no soname is hard-coded)
// before MPI_Init, as mpi4py does.
//
// Determinism: allreduceSum never uses MPI_Allreduce (whose algorithm, and so its summation order, Open MPI picks
// by message size and process count). Rank 0 receives every other rank's buffer in rank order, chunk by chunk,
// and adds: out = ((x_0 + x_1) + x_2) + ... + x_{N-1}, element by element; then MPI_Bcast sends rank 0's sums to
// all. Same N and same inputs give the same bits, run to run and on every rank. Cost: rank 0 receives (N-1)
// buffers (linear in N, not the 2(N-1)/N of a ring); see docs/distributed.md.
#include <dlfcn.h>
#include <mpi.h>
#include <node_api.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <vector>

namespace {

constexpr size_t kChunkBytes = 1 << 20;  // 1 MiB pieces: rank 0's scratch stays small, receives pipeline

bool throwError(napi_env env, const char* what) {
  napi_throw_error(env, nullptr, what);
  return false;
}

bool mpiCheck(napi_env env, int rc, const char* call) {
  if (rc == MPI_SUCCESS) return true;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  char msg[MPI_MAX_ERROR_STRING + 64];
  std::snprintf(msg, sizeof msg, "convkit mpi: %s failed: %s", call, text);
  return throwError(env, msg);
}

bool initialized(napi_env env) {
  int ok = 0, done = 0;
  MPI_Initialized(&ok);
  MPI_Finalized(&done);
  if (ok && !done) return true;
  return throwError(env, "convkit mpi: call init() first (and not after finalize())");
}

// A typed array (Float32Array, Float64Array, Int32Array or Uint8Array) viewed in place.
struct View {
  void* p = nullptr;
  size_t len = 0;
  napi_typedarray_type type = napi_uint8_array;
};

bool view(napi_env env, napi_value v, const char* name, View* out) {
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  if (!isTyped || napi_get_typedarray_info(env, v, &out->type, &out->len, &out->p, nullptr, nullptr) != napi_ok) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "convkit mpi: argument '%s' expected a typed array", name);
    return throwError(env, msg);
  }
  return true;
}

napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

template <typename T>
bool sumToRootInRankOrder(napi_env env, T* data, size_t len, MPI_Datatype type, int rank, int size) {
  const size_t chunk = kChunkBytes / sizeof(T);
  std::vector<T> scratch(rank == 0 ? (len < chunk ? len : chunk) : 0);
  for (size_t off = 0; off < len; off += chunk) {
    const int n = static_cast<int>(len - off < chunk ? len - off : chunk);
    if (rank == 0) {
      for (int src = 1; src < size; src++) {
        if (!mpiCheck(env, MPI_Recv(scratch.data(), n, type, src, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv")) return false;
        T* d = data + off;
        for (int i = 0; i < n; i++) d[i] += scratch[i];
      }
    } else {
      if (!mpiCheck(env, MPI_Send(data + off, n, type, 0, 7, MPI_COMM_WORLD), "MPI_Send")) return false;
    }
  }
  return true;
}

// init(): MPI_Init (once) and { rank, size }.
napi_value Init(napi_env env, napi_callback_info) {
  int ok = 0;
  MPI_Initialized(&ok);
  if (!ok) {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&MPI_Init), &info) && info.dli_fname) {
      if (!dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD)) {
        throwError(env, "convkit mpi: could not re-open libmpi with RTLD_GLOBAL");
        return nullptr;
      }
    }
    if (!mpiCheck(env, MPI_Init(nullptr, nullptr), "MPI_Init")) return nullptr;
    // Errors come back as codes (thrown as JavaScript errors) rather than aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  napi_value r;
  napi_create_object(env, &r);
  napi_set_named_property(env, r, "rank", number(env, rank));
  napi_set_named_property(env, r, "size", number(env, size));
  return r;
}

napi_value Finalize(napi_env env, napi_callback_info) {
  int ok = 0, done = 0;
  MPI_Initialized(&ok);
  MPI_Finalized(&done);
  if (ok && !done) mpiCheck(env, MPI_Finalize(), "MPI_Finalize");
  return nullptr;
}

napi_value Rank(napi_env env, napi_callback_info) {
  if (!initialized(env)) return nullptr;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return number(env, rank);
}

napi_value Size(napi_env env, napi_callback_info) {
  if (!initialized(env)) return nullptr;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return number(env, size);
}

napi_value Barrier(napi_env env, napi_callback_info) {
  if (!initialized(env)) return nullptr;
  mpiCheck(env, MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  return nullptr;
}

// allreduceSum(a: Float32Array | Float64Array): a[i] = sum over ranks, in rank order (see the header), in place.
napi_value AllreduceSum(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr);
  if (argc < 1) return throwError(env, "convkit mpi: allreduceSum expected 1 argument"), nullptr;
  if (!initialized(env)) return nullptr;
  View v;
  if (!view(env, argv[0], "a", &v)) return nullptr;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size == 1 || v.len == 0) return nullptr;
  bool ok;
  MPI_Datatype type;
  if (v.type == napi_float32_array) {
    type = MPI_FLOAT;
    ok = sumToRootInRankOrder(env, static_cast<float*>(v.p), v.len, type, rank, size);
  } else if (v.type == napi_float64_array) {
    type = MPI_DOUBLE;
    ok = sumToRootInRankOrder(env, static_cast<double*>(v.p), v.len, type, rank, size);
  } else {
    return throwError(env, "convkit mpi: argument 'a' of allreduceSum expected a Float32Array or Float64Array"), nullptr;
  }
  if (!ok) return nullptr;
  mpiCheck(env, MPI_Bcast(v.p, static_cast<int>(v.len), type, 0, MPI_COMM_WORLD), "MPI_Bcast");
  return nullptr;
}

// Two ranks: each sends its buffer to the other and both add x_0 + x_1 in that order (one exchange of S bytes
// each way, instead of rank 0 gathering then broadcasting: half the traffic, no idle rank). IEEE addition is
// commutative, so both ranks hold the same bits, and the same as the rank-order sum of N > 2.
template <typename T>
bool pairwiseSum(napi_env env, T* data, T* scratch, int n, MPI_Datatype type, int rank) {
  const int peer = 1 - rank;
  if (!mpiCheck(env, MPI_Sendrecv(data, n, type, peer, 9, scratch, n, type, peer, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Sendrecv")) return false;
  if (rank == 0) {
    for (int i = 0; i < n; i++) data[i] = data[i] + scratch[i];
  } else {
    for (int i = 0; i < n; i++) data[i] = scratch[i] + data[i];
  }
  return true;
}

// One chunk, summed over ranks into every rank's `data`: pairwise for 2 ranks, else rank order then broadcast.
template <typename T>
bool sumChunk(napi_env env, T* data, T* scratch, int n, MPI_Datatype type, int rank, int size) {
  if (size == 2) return pairwiseSum(env, data, scratch, n, type, rank);
  if (rank == 0) {
    for (int src = 1; src < size; src++) {
      if (!mpiCheck(env, MPI_Recv(scratch, n, type, src, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv")) return false;
      for (int i = 0; i < n; i++) data[i] += scratch[i];
    }
  } else if (!mpiCheck(env, MPI_Send(data, n, type, 0, 7, MPI_COMM_WORLD), "MPI_Send")) {
    return false;
  }
  return mpiCheck(env, MPI_Bcast(data, n, type, 0, MPI_COMM_WORLD), "MPI_Bcast");
}

// reduceGradients(arrays: Float32Array[], weight: number, extra?: Float64Array): every arrays[k][i] becomes
// sum over ranks of (weight_r * arrays_r[k][i]) (each product rounded to float32, as JavaScript's
// Math.fround(g * w) would), and extra[i] the plain sum over ranks, in place, in one call. The arrays are streamed,
// in the order given, through 1 MiB chunks packed here (no JavaScript copy of the gradients); each chunk is
// summed as sumChunk does, so the bits do not depend on how the arrays are grouped.
napi_value ReduceGradients(napi_env env, napi_callback_info cb) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr);
  if (argc < 2) return throwError(env, "convkit mpi: reduceGradients expected 2 or 3 arguments"), nullptr;
  if (!initialized(env)) return nullptr;
  bool isArray = false;
  napi_is_array(env, argv[0], &isArray);
  if (!isArray) return throwError(env, "convkit mpi: argument 'arrays' of reduceGradients expected an array of Float32Array"), nullptr;
  uint32_t count = 0;
  napi_get_array_length(env, argv[0], &count);
  std::vector<View> arrays(count);
  for (uint32_t k = 0; k < count; k++) {
    napi_value item;
    napi_get_element(env, argv[0], k, &item);
    if (!view(env, item, "arrays[k]", &arrays[k])) return nullptr;
    if (arrays[k].type != napi_float32_array) return throwError(env, "convkit mpi: argument 'arrays' of reduceGradients expected Float32Array items"), nullptr;
  }
  double weight = 1;
  if (napi_get_value_double(env, argv[1], &weight) != napi_ok) return throwError(env, "convkit mpi: argument 'weight' of reduceGradients expected a number"), nullptr;
  View extra;
  bool hasExtra = false;
  if (argc > 2) {
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    if (t != napi_undefined && t != napi_null) {
      if (!view(env, argv[2], "extra", &extra)) return nullptr;
      if (extra.type != napi_float64_array) return throwError(env, "convkit mpi: argument 'extra' of reduceGradients expected a Float64Array"), nullptr;
      hasExtra = true;
    }
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const size_t chunk = kChunkBytes / sizeof(float);
  size_t total = 0;
  for (const View& a : arrays) total += a.len;
  // Kept between calls (the main thread alone calls in): a fresh 1 MiB pair each step costs page faults and, on
  // small models, more than the exchange itself.
  static std::vector<float> buf, scratch;
  const size_t want = std::min(chunk, total);
  if (buf.size() < want) {
    buf.resize(want);
    scratch.resize(want);
  }
  // Cursor over the concatenation of the arrays.
  size_t k = 0, at = 0;
  auto skipEmpty = [&]() { while (k < arrays.size() && at >= arrays[k].len) { k++; at = 0; } };
  skipEmpty();
  while (k < arrays.size()) {
    // Pack (scaled) up to one chunk.
    const size_t k0 = k, at0 = at;
    size_t n = 0;
    while (k < arrays.size() && n < chunk) {
      const float* src = static_cast<const float*>(arrays[k].p) + at;
      const size_t take = std::min(chunk - n, arrays[k].len - at);
      if (size == 1 || weight != 1) {
        for (size_t i = 0; i < take; i++) buf[n + i] = static_cast<float>(static_cast<double>(src[i]) * weight);
      } else {
        std::memcpy(buf.data() + n, src, take * sizeof(float));
      }
      n += take;
      at += take;
      skipEmpty();
    }
    if (size > 1 && !sumChunk(env, buf.data(), scratch.data(), static_cast<int>(n), MPI_FLOAT, rank, size)) return nullptr;
    // Unpack the sums over the same ranges.
    size_t kk = k0, aa = at0, m = 0;
    while (m < n) {
      while (aa >= arrays[kk].len) { kk++; aa = 0; }
      const size_t take = std::min(n - m, arrays[kk].len - aa);
      std::memcpy(static_cast<float*>(arrays[kk].p) + aa, buf.data() + m, take * sizeof(float));
      m += take;
      aa += take;
    }
  }
  if (hasExtra && size > 1 && extra.len > 0) {
    std::vector<double> s(extra.len);
    if (!sumChunk(env, static_cast<double*>(extra.p), s.data(), static_cast<int>(extra.len), MPI_DOUBLE, rank, size)) return nullptr;
  }
  return nullptr;
}

// broadcast(a: TypedArray, root: number): every rank's a becomes root's a (bytes, in place).
napi_value Broadcast(napi_env env, napi_callback_info cb) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr);
  if (argc < 1) return throwError(env, "convkit mpi: broadcast expected 1 or 2 arguments"), nullptr;
  if (!initialized(env)) return nullptr;
  View v;
  if (!view(env, argv[0], "a", &v)) return nullptr;
  int root = 0;
  if (argc > 1) napi_get_value_int32(env, argv[1], &root);
  size_t elem = 1;
  switch (v.type) {
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
    case napi_float32_array: case napi_int32_array: case napi_uint32_array: elem = 4; break;
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    default: elem = 1;
  }
  char* p = static_cast<char*>(v.p);
  const size_t bytes = v.len * elem;
  for (size_t off = 0; off < bytes; off += (size_t{1} << 30)) {  // MPI counts are int
    const size_t n = bytes - off < (size_t{1} << 30) ? bytes - off : (size_t{1} << 30);
    if (!mpiCheck(env, MPI_Bcast(p + off, static_cast<int>(n), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast")) return nullptr;
  }
  return nullptr;
}

// abort(code): MPI_Abort on the world: mpirun ends every rank.
napi_value Abort(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr);
  int code = 1;
  if (argc > 0) napi_get_value_int32(env, argv[0], &code);
  int ok = 0;
  MPI_Initialized(&ok);
  if (ok) MPI_Abort(MPI_COMM_WORLD, code);
  return nullptr;
}

napi_value Version(napi_env env, napi_callback_info) {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  napi_value r;
  napi_create_string_utf8(env, text, std::strlen(text), &r);
  return r;
}

napi_value Register(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"finalize", nullptr, Finalize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rank", nullptr, Rank, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"size", nullptr, Size, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"barrier", nullptr, Barrier, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"allreduceSum", nullptr, AllreduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceGradients", nullptr, ReduceGradients, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"broadcast", nullptr, Broadcast, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"abort", nullptr, Abort, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Register)
