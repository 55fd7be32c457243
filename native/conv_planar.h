// Direct convolution vectorised over output pixels, for at most 8 output channels at stride 1
// (conv_planar.inc): LeNet's 3 -> 6 stem and the input gradient of its 6 -> 16 convolution.
#pragma once

#include "common.h"
#include "gemm.h"

namespace ck {

// Whether the planar kernel takes this convolution.
bool planarFits(const Geom& g);

// Weight columns of the planar kernel for outC outputs: 2, 4, 6 or 8.
long planarPanel(long outC);

// y [n, oh, ow, outC] (rows ldy floats apart) from x [n, h, w, c] and wk [kh * kw * c][planarPanel(outC)] (the
// HWIO kernel, columns past outC zero); then the epilogue, if any, on each thread's rows. Threads take whole
// output rows: results do not depend on the thread count, and equal the few-output kernel's bit for bit.
bool convPlanar(const float* x, const float* wk, float* y, const Geom& g, long ldy = -1, const Epilogue* ep = nullptr);

}  // namespace ck
