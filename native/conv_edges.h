// Convolutions on small maps with their pixels grouped by padding class (conv_edges.cc).
#pragma once

#include "common.h"
#include "gemm.h"

namespace ck {

// Whether a convolution through the indirect GEMM (Im2colRows read in place) should take edgeClassConv: a
// large enough share of its kernel taps falls on padding.
bool edgeClassesPay(const Geom& g);

// y [n * oh * ow, n] (rows ldy apart) = epilogue(im2col(x) * w), w as n rows of depth kh * kw * c, with the
// pixels grouped by padding class so that the GEMM skips each group's padded taps. The epilogue's addend may
// not be y itself. False when memory could not be had.
bool edgeClassConv(const float* x, const Geom& g, const Panelizer& w, long n, float* y, long ldy, const Epilogue* ep);

}  // namespace ck
