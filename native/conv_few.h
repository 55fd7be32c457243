// Direct convolution for layers with few output channels (conv_few.inc).
#pragma once

#include "common.h"
#include "gemm.h"

namespace ck {

// Panel width (output channels rounded up to one or two vectors of the active ISA) when the direct kernel
// takes outC output channels, else 0.
int fewOutputsPanel(long outC);

// y [n, oh, ow, outC] from x [n, h, w, c] and the kernel packed as wp [kh * kw * c][fewOutputsPanel(outC)],
// zero past outC. Threads take whole output rows, so results do not depend on the thread count.
bool convFewOutputs(const float* x, const float* wp, float* y, const Geom& g);

// dw [kh, kw, c, outC] = col^T dy, directly, vectorised over the kw * c taps of a kernel row (any outC).
// Fixed pixel segments sum into their own partials, added in order: results do not depend on the thread count.
bool convFilterTaps(const float* x, const float* dy, float* dw, const Geom& g);

}  // namespace ck
