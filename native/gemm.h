// Packed SGEMM (BLIS/XNNPACK structure): operands are packed into panels, an MR x NR register-tiled
// microkernel runs over them, KC/MC/NC blocking keeps panels in L1/L2/L3.
//
// Operands are described by a Panelizer, not by a pointer, so that convolution can feed its im2col matrix
// straight into the packing step without ever materialising it (conv.cc), and transposes cost nothing more
// than a different packing order. Where packing costs more than it saves, an operand is not packed at all:
// the microkernel reads it in place through pointers the Panelizer provides (segments/locate for A,
// locateColumns for B).
#pragma once

#include "common.h"
#include "isa.h"

namespace ck {

// A matrix seen as `rows x depth` (A: m x k; B: n x k, i.e. B transposed), packed into panels of `width`
// rows. Panel q holds rows [r0 + q*width, r0 + (q+1)*width) stored depth-major: dst[d * width + i]; rows
// past `rows` are zero, so the microkernel never needs a row tail.
struct Panelizer {
  virtual void pack(float* dst, long r0, long rows, long d0, long depth, int width) const = 0;

  // A operands whose rows are contiguous runs in memory can skip packing: the microkernel broadcasts straight
  // from them. The depth range [d0, d0 + depth) is cut into segments along which every row is contiguous
  // (one per matrix, one per kernel tap of an im2col). segments() returns how many, at most `maxSegs`, or 0
  // for "pack me" (`uses`: how many column panels will read the block; packing pays off over many).
  // locate() then fills lens[nseg] and, per panel of `width` rows, nseg x width pointers (rows past `rows`
  // and padded taps point at `zero`, which holds at least `depth` zeros).
  virtual long segments(long d0, long depth, long maxSegs, long uses) const {
    (void)d0, (void)depth, (void)maxSegs, (void)uses;
    return 0;
  }
  virtual void locate(const float** ptrs, long* lens, long r0, long rows, long d0, long depth, int width,
                      const float* zero) const {
    (void)ptrs, (void)lens, (void)r0, (void)rows, (void)d0, (void)depth, (void)width, (void)zero;
  }

  // B operands whose panel rows are contiguous runs of `width` floats (one per depth step) can skip packing
  // too: locateColumns() fills, per panel of `width` rows, `depth` pointers to those runs (or to `zero`, at
  // least `width` zeros) and returns true, or returns false for "pack me".
  virtual bool locateColumns(const float** ptrs, long r0, long rows, long d0, long depth, int width,
                             const float* zero) const {
    (void)ptrs, (void)r0, (void)rows, (void)d0, (void)depth, (void)width, (void)zero;
    return false;
  }
  // The most rows of C for which the GEMM reads this B in place (locateColumns) rather than packing it.
  virtual long inPlaceRows() const;

  // B operands packed ahead for their whole depth, as pack(dst, 0, rows, 0, depth, nr) lays them out for the
  // active ISA's nr (an inference plan's weights: PrepackedPanels), return that array and its depth; the GEMM
  // then reads their blocks in place, packing nothing.
  virtual const float* prepacked(long* depth) const {
    (void)depth;
    return nullptr;
  }
  virtual ~Panelizer() = default;
};

// Element (r, d) at p[r * rs + d * ds]: row-major, column-major or any strided view of a plain matrix.
struct StridedPanels final : Panelizer {
  const float* p;
  long rs, ds;
  StridedPanels(const float* p_, long rs_, long ds_) : p(p_), rs(rs_), ds(ds_) {}
  void pack(float* dst, long r0, long rows, long d0, long depth, int width) const override;
  long segments(long d0, long depth, long maxSegs, long uses) const override;
  bool locateColumns(const float** ptrs, long r0, long rows, long d0, long depth, int width,
                     const float* zero) const override;
  void locate(const float** ptrs, long* lens, long r0, long rows, long d0, long depth, int width,
              const float* zero) const override;
};

// B packed ahead: [ceil(rows / nr)][depth][nr], rows past `rows` zero (gemmPack).
struct PrepackedPanels final : Panelizer {
  const float* p;
  long depth;
  int nr;
  PrepackedPanels(const float* p_, long depth_, int nr_) : p(p_), depth(depth_), nr(nr_) {}
  void pack(float* dst, long r0, long rows, long d0, long depth, int width) const override;
  const float* prepacked(long* d) const override {
    *d = depth;
    return p;
  }
};

// Floats of B (n rows of depth k) packed ahead for the active ISA (PrepackedPanels), and the packing:
// dst = B [k, n] (row-major, the weights of a convolution or dense layer) as [ceil(n / nr)][k][nr].
long gemmPackedSize(long n, long k);
void gemmPack(const float* b, long n, long k, float* dst);

// mc x nc block: c[i * ldc + j] = (accumulate ? c : 0) + sum_p pa[..] * pb[..], pa/pb packed by Panelizer;
// then, on the last depth block, c = act((c + bias[j]) + addend[i * ldAdd + j]) (bias: the block's first column,
// or null; addend: the block's first element, or null; act Linear, Relu or Relu6), in registers before the store.
// pbs: floats between pb's column panels.
// stream: the block is C's final value, written with stores past the caches (Epilogue::stream).
using MacroKernel = void (*)(long mc, long nc, long kc, const float* pa, const float* pb, long pbs, float* c, long ldc,
                             bool accumulate, const float* bias, Act act, const float* addend, long ldAdd, bool stream);
// The same with A read in place: rows [ceil(mc/mr)][nseg][mr] and lens [nseg] as Panelizer::locate fills them,
// `zero` the run it gave padded taps (a tile's segment whose rows all point there is skipped).
using MacroKernelIndirect = void (*)(long mc, long nc, long kc, const float* const* rows, const long* lens, long nseg,
                                     const float* zero, const float* pb, long pbs, float* c, long ldc, bool accumulate, const float* bias,
                                     Act act, const float* addend, long ldAdd, bool stream);
// The same with B read in place: cols [ceil(nc/nr)][kc] as Panelizer::locateColumns fills them.
using MacroKernelGatherB = void (*)(long mc, long nc, long kc, const float* pa, const float* const* cols, float* c,
                                    long ldc, bool accumulate, const float* bias, Act act, const float* addend,
                                    long ldAdd, bool stream);

struct GemmKernel {
  Isa isa;
  int mr, nr;      // register tile
  long kc, mc, nc; // cache blocks: B micro-panel (kc x nr) in L1, A block (mc x kc) in L2, B block in L3
  MacroKernel macro;
  MacroKernelIndirect macroIndirect;
  MacroKernelGatherB macroGatherB;
};

// The kernel of the active ISA.
const GemmKernel& gemmKernel();
const GemmKernel& gemmKernelFor(Isa isa);

// What happens to a block of C once its last depth block is added (inference: a convolution's or dense
// layer's bias, batch norm folded into it, a residual sum, and its activation):
//   c[i, j] = act((c[i, j] + bias[j]) + addend[i * ldAdd + j]),
// bias and addend optional. Applied while the block is still in cache, instead of as passes over the whole
// output. The addend (ResNet's shortcut, ONNX Runtime's Conv + Sum) is indexed like the C it comes with: a
// callee handed rows [r0, ..) of that C gets rows(r0).
struct Epilogue {
  const float* bias;  // [n] or nullptr
  Act act;
  const float* addend = nullptr;  // [rows, ldAdd] or nullptr
  long ldAdd = 0;
  // C is larger than the last-level cache and written once (streamOutput): its tiles are stored past the
  // caches, sparing the read of each line before it is overwritten. Only where C is stored once (one depth
  // block, no depth segments).
  bool stream = false;
  Epilogue rows(long r0) const {
    Epilogue e = *this;
    if (e.addend) e.addend += r0 * ldAdd;
    return e;
  }
};
// Whether an output of `floats` values is written with Epilogue::stream: larger than a last-level cache (32 MiB
// on Zen 3 and Zen 5; a VM's sysconf reports the host's sum of them), its first lines are gone by the time the
// next layer reads them anyway.
constexpr long kStreamFloats = 6L << 20;  // 24 MiB
inline bool streamOutput(long floats) { return floats > kStreamFloats; }

// The epilogue on rows [0, rows) and columns [j0, j1) of c (row stride ldc); single-threaded.
void applyEpilogue(const Epilogue& ep, float* c, long ldc, long rows, long j0, long j1);
// The epilogue's addend, rows [0, rows) x columns [0, cols), copied into this thread's scratch (rows `cols`
// apart): for a kernel whose addend is its own output and which writes the output before it adds it. Null when
// the memory cannot be had.
const float* copyAddend(const Epilogue& ep, long rows, long cols);

// B is read in place only for a C of at most this many rows, unless its Panelizer says otherwise (inPlaceRows:
// the im2col columns of 3x3 filter gradients, whose packing is a gather, pay up to 128): each B value then
// feeds few FMAs, so packing it cost 15-30% of the GEMM (filter gradients with 16 / 32 outputs 17% / 8% faster),
// while with many rows the scattered lines fall out of L1 between row panels (64 rows 4% slower, 512 rows 19%;
// A/B, filter gradients, before im2col columns had their own limit).
constexpr long kMaxRowsBInPlace = 48;
inline long Panelizer::inPlaceRows() const { return kMaxRowsBInPlace; }

// C [m, n] (row stride ldc) = (accumulate ? C : 0) + A [m, k] * B [k, n], then the epilogue if one is given. `a` has m rows, `b` has n rows,
// both of depth k. Multi-threaded over M or N blocks; for small C with a long k it also splits k into
// segments fixed by the shape, and adds their partial products in segment order. The result is bitwise
// independent of the thread count. Returns false when workspace memory could not be allocated.
// The epilogue's addend may be C itself (ldAdd == ldc): an inference plan writes a residual sum over its
// summand. Each tile reads its addend just before its only store when C is stored once (one depth segment,
// one depth block, a clip activation); otherwise the addend is copied first.
bool gemm(const Panelizer& a, const Panelizer& b, long m, long n, long k, float* c, long ldc, bool accumulate,
          const Epilogue* ep = nullptr);

// dst [cols, rows] = src [rows, cols]^T, multi-threaded, blocked (gemm_panels.cc).
void transpose(const float* src, long rows, long cols, float* dst);
// The same for rows [i0, i1) x columns [j0, j1) of a src with rows lds apart, into a dst with rows ldd apart, on
// this thread.
void transposeBlock(const float* src, long lds, float* dst, long ldd, long i0, long i1, long j0, long j1);

// out [m, n] = op(a) op(b) for row-major a, b as in Backend.matmul.
bool matmul(const float* a, const float* b, float* out, long m, long k, long n, bool transA, bool transB);

// Grow-only zero-filled memory of this OS thread, for padded taps (never written). Requests of at most
// kMinZeros floats never move it.
// 4608: the whole depth a plan's GEMM may take as one block (gemm.cc, kWholeDepth), whose rows past the edge read
// that many zeros.
constexpr size_t kMinZeros = 9 * 512;
const float* zeros(size_t count);

}  // namespace ck
