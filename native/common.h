// Shared pieces of the convkit addon: the geometry struct (resolved in TypeScript, never here), grow-only
// aligned scratch buffers, and range splitting. Nothing in this file knows about N-API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace ck {

// The fields of src/backend/geometry.ts Conv2DInfo, in the order the TypeScript loader packs them
// (src/backend/native/index.ts, GEOM_FIELDS). Pool2DInfo uses the same struct with dh = dw = 1, outC = c.
struct Geom {
  long n, h, w, c;
  long kh, kw;
  long sh, sw;
  long dh, dw;
  long padTop, padBottom, padLeft, padRight;
  long oh, ow, outC;
  long depthMultiplier;
};
constexpr int kGeomFields = 18;

// Activations, numbered as src/backend/native/index.ts passes them.
enum class Act { Linear = 0, Relu = 1, Relu6 = 2, Sigmoid = 3, Tanh = 4 };
// The activations a kernel applies in registers before its store (a clip, or nothing); sigmoid and tanh are a
// pass over the output after it.
inline bool isClip(Act act) { return act == Act::Linear || act == Act::Relu || act == Act::Relu6; }

// A 64-byte aligned buffer that only grows. Kernels size it once at entry (never inside their loops), so
// repeated calls of the same shape never touch the allocator.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(data_); }

  // Returns nullptr when the memory cannot be had; callers report that as a JavaScript error.
  float* floats(size_t count) { return static_cast<float*>(bytes(count * sizeof(float))); }
  void* bytes(size_t size) {
    if (size == 0) size = 64;  // a valid pointer even for empty work
    if (size <= cap_) return data_;
    void* p = nullptr;
    size_t rounded = (size + 4095) & ~static_cast<size_t>(4095);
    if (posix_memalign(&p, 64, rounded) != 0) return nullptr;
    std::free(data_);
    data_ = p;
    cap_ = rounded;
    return data_;
  }

 private:
  void* data_ = nullptr;
  size_t cap_ = 0;
};

// Part `part` of `parts` of the range [0, n): contiguous, sizes differ by at most one. Used for every static
// split so that which thread does which work is a pure function of (n, parts).
inline void splitRange(long n, long parts, long part, long* begin, long* end) {
  *begin = n * part / parts;
  *end = n * (part + 1) / parts;
}

inline long ceilDiv(long a, long b) { return (a + b - 1) / b; }
inline long minl(long a, long b) { return a < b ? a : b; }
inline long maxl(long a, long b) { return a > b ? a : b; }

}  // namespace ck
