// Direct convolution for layers with few output channels (conv_few.inc).
#pragma once

#include "common.h"
#include "gemm.h"

namespace ck {

// Where the direct kernel writes: y's pixels ldy floats apart (a channel slice of a concatenation when ldy >
// outC), with bias (padded with zeros to the panel, or null) added and relu / relu6 (or nothing; other
// activations are a pass afterwards) applied while the sums are in registers.
struct FewOut {
  float* y;
  long ldy;
  const float* bias;
  Act act;
};

// Panel width (output channels rounded up to one or two vectors of the active ISA) when the direct kernel
// takes outC output channels, else 0.
int fewOutputsPanel(long outC);
// The same for the forward pass of g: fewOutputsPanel(outC), or for a stem of at most four input channels
// (RGB, grayscale) up to six vectors of outputs where the ISA has 32 vector registers (AVX-512), else 0.
int fewForwardPanel(const Geom& g);

// y [n, oh, ow, outC] from x [n, h, w, c] and the kernel packed as wp [kh * kw * c][fewForwardPanel(g)],
// zero past outC. Threads take whole output rows, so results do not depend on the thread count. y's rows are
// ldy floats apart (a channel slice of a concatenation when ldy > outC), and the epilogue, if any, is applied
// by each thread to its rows as soon as they are written (no second pass, no second parallel region).
bool convFewOutputs(const float* x, const float* wp, float* y, const Geom& g, long ldy = -1, const Epilogue* ep = nullptr);

// dw [kh, kw, c, outC] = col^T dy, directly, vectorised over the kw * c taps of a kernel row (any outC).
// Fixed pixel segments sum into their own partials, added in order: results do not depend on the thread count.
bool convFilterTaps(const float* x, const float* dy, float* dw, const Geom& g);

}  // namespace ck
