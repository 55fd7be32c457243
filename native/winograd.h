// Winograd F(2x2, 3x3) convolution (winograd.cc): stride-1 3x3 convolutions with many channels as 16 GEMMs of
// transformed tiles, 16 multiply-adds per 2x2 outputs and input channel where the direct GEMM does 36.
#pragma once

#include "gemm.h"

namespace ck {

// Whether the Winograd path is on: unless CONVKIT_WINOGRAD=0 was set when the process started. Off, plans keep
// no transformed kernels (16/9 the size of the kernels, in memory beside the model's own) and training no
// workspace for them.
bool winogradEnabled();

// Whether the forward convolution g takes the Winograd path (a function of the shape, the ISA and the switch).
bool winogradFits(const Geom& g);

// Floats of g's kernel transformed and packed for winogradConv: 16 GEMM B operands of depth c, outC columns.
long winogradPackedSize(const Geom& g);
// dst = w [3, 3, c, outC] transformed (G w G^T per channel pair) and packed.
void winogradPack(const float* w, const Geom& g, float* dst);
// y [n, oh, ow, outC] (pixel rows ldy apart) = the convolution of x with w [3, 3, c, outC], or with the kernel
// a plan packed (`packed`, by winogradPack), then the epilogue (any activation). Deterministic: no sum depends
// on the thread count. False when workspace memory could not be had.
bool winogradConv(const float* x, const float* w, const float* packed, float* y, const Geom& g, long ldy, const Epilogue* ep);

// The stride-1 input gradient as a forward convolution (conv.cc, backpropInputTransposed): g is that
// convolution (c = the layer's outC, outC = its c), w the layer's kernel [3, 3, g.outC, g.c], read flipped and
// transposed; dx rows g.outC apart.
bool winogradConvFlipped(const float* dy, const float* w, float* dx, const Geom& g);

// dw [3, 3, c, outC] = the kernel gradient of the convolution g (winogradFits) from x and dy [n, oh, ow, outC],
// through the same transforms (filter gradients reuse the forward's tiles). Deterministic.
bool winogradFilterGrad(const float* x, const float* dy, float* dw, const Geom& g);

}  // namespace ck
