// convkit_mpi: the optional MPI addon of src/dist (data-parallel training). Built only where MPI is installed,
// by scripts/build-native.mjs through native/mpi/binding.gyp, with the flags `mpicxx --showme` gives.
// Plain C N-API (node_api.h). Every call is synchronous on the main thread except reduceGradientsAsync, whose
// reductions run on a communication thread (Comm) while the backward pass goes on.
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

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kChunkBytes = 1 << 20;  // 1 MiB pieces: rank 0's scratch stays small, receives pipeline

// Whether MPI was initialised with the thread support that posting reductions needs (see Comm).
bool asyncSupported = false;
// Waits for the communication thread to go idle; false (with a JavaScript error thrown) if a posted reduction failed.
bool drained(napi_env env);

bool throwError(napi_env env, const char* what) {
  napi_throw_error(env, nullptr, what);
  return false;
}

// The reductions run on the main thread or on the communication thread (see Comm), where nothing can be thrown:
// they record the failure here and the N-API side throws it.
thread_local std::string lastError;

bool mpiOk(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return true;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  char msg[MPI_MAX_ERROR_STRING + 64];
  std::snprintf(msg, sizeof msg, "convkit mpi: %s failed: %s", call, text);
  lastError = msg;
  return false;
}

bool mpiCheck(napi_env env, int rc, const char* call) {
  return mpiOk(rc, call) || throwError(env, lastError.c_str());
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
    // Open MPI spins while a rank waits for its peer. The communication thread (Comm, reduce.inc) shares its
    // rank's cores with the compute threads, and spinning it took their time: 2 ranks x 1 thread on a 2-core
    // machine trained ResNet18 at 113-126 img/s spinning, 129-145 yielding (alternating runs). Yielding is what
    // Open MPI itself picks for an oversubscribed node; a value the user set (mpirun --mca, the environment) wins.
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    int provided = MPI_THREAD_SINGLE;
    if (!mpiCheck(env, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread")) return nullptr;
    asyncSupported = provided >= MPI_THREAD_SERIALIZED;
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
  if (ok && !done && drained(env)) mpiCheck(env, MPI_Finalize(), "MPI_Finalize");
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
  if (!initialized(env) || !drained(env)) return nullptr;
  mpiCheck(env, MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  return nullptr;
}

// allreduceSum(a: Float32Array | Float64Array): a[i] = sum over ranks, in rank order (see the header), in place.
napi_value AllreduceSum(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr);
  if (argc < 1) return throwError(env, "convkit mpi: allreduceSum expected 1 argument"), nullptr;
  if (!initialized(env) || !drained(env)) return nullptr;
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

#include "reduce.inc"

// Every main-thread entry point that calls MPI first lets the communication thread finish.
bool drained(napi_env env) {
  const std::string e = comm().waitIdle();
  return e.empty() || throwError(env, e.c_str());
}

// Parses (arrays, weight, extra?) into a Reduction.
bool parseReduction(napi_env env, napi_callback_info cb, const char* fn, Reduction* r) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr);
  char msg[160];
  if (argc < 2) return std::snprintf(msg, sizeof msg, "convkit mpi: %s expected 2 or 3 arguments", fn), throwError(env, msg);
  bool isArray = false;
  napi_is_array(env, argv[0], &isArray);
  if (!isArray) return std::snprintf(msg, sizeof msg, "convkit mpi: argument 'arrays' of %s expected an array of Float32Array", fn), throwError(env, msg);
  uint32_t count = 0;
  napi_get_array_length(env, argv[0], &count);
  r->arrays.resize(count);
  for (uint32_t k = 0; k < count; k++) {
    napi_value item;
    napi_get_element(env, argv[0], k, &item);
    if (!view(env, item, "arrays[k]", &r->arrays[k])) return false;
    if (r->arrays[k].type != napi_float32_array) return std::snprintf(msg, sizeof msg, "convkit mpi: argument 'arrays' of %s expected Float32Array items", fn), throwError(env, msg);
  }
  if (napi_get_value_double(env, argv[1], &r->weight) != napi_ok) return std::snprintf(msg, sizeof msg, "convkit mpi: argument 'weight' of %s expected a number", fn), throwError(env, msg);
  if (argc > 2) {
    napi_valuetype t;
    napi_typeof(env, argv[2], &t);
    if (t != napi_undefined && t != napi_null) {
      View extra;
      if (!view(env, argv[2], "extra", &extra)) return false;
      if (extra.type != napi_float64_array) return std::snprintf(msg, sizeof msg, "convkit mpi: argument 'extra' of %s expected a Float64Array", fn), throwError(env, msg);
      r->extra = static_cast<double*>(extra.p);
      r->extraLen = extra.len;
    }
  }
  return true;
}

// reduceGradients(arrays: Float32Array[], weight: number, extra?: Float64Array): reduceArrays, now.
napi_value ReduceGradients(napi_env env, napi_callback_info cb) {
  if (!initialized(env) || !drained(env)) return nullptr;
  Reduction r;
  if (!parseReduction(env, cb, "reduceGradients", &r)) return nullptr;
  if (!reduceArrays(r)) throwError(env, lastError.c_str());
  return nullptr;
}

// reduceGradientsAsync(arrays, weight, extra?) -> boolean: posts the reduction to the communication thread and
// returns true at once (the arrays must not be touched until waitReductions()), or returns false, doing
// nothing, where MPI lacks the thread support (the caller then reduces synchronously).
napi_value ReduceGradientsAsync(napi_env env, napi_callback_info cb) {
  if (!initialized(env)) return nullptr;
  napi_value result;
  if (!asyncSupported) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  Reduction r;
  if (!parseReduction(env, cb, "reduceGradientsAsync", &r)) return nullptr;
  comm().post(std::move(r));
  napi_get_boolean(env, true, &result);
  return result;
}

// waitReductions(): returns when every posted reduction has run; throws the first failure.
napi_value WaitReductions(napi_env env, napi_callback_info) {
  drained(env);
  return nullptr;
}

// broadcast(a: TypedArray, root: number): every rank's a becomes root's a (bytes, in place).
napi_value Broadcast(napi_env env, napi_callback_info cb) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr);
  if (argc < 1) return throwError(env, "convkit mpi: broadcast expected 1 or 2 arguments"), nullptr;
  if (!initialized(env) || !drained(env)) return nullptr;
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
      {"reduceGradientsAsync", nullptr, ReduceGradientsAsync, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"waitReductions", nullptr, WaitReductions, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"broadcast", nullptr, Broadcast, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"abort", nullptr, Abort, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Register)
