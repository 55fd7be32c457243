// Every kernel the addon exports, one op family per source file. Arrays are float32, images NHWC, kernels
// HWIO, matrices row-major; the semantics are those of src/backend/reference (the specification). Outputs
// are written in full (no kernel relies on them being zeroed). `bool` kernels return false only when
// workspace memory could not be allocated.
#pragma once

#include "common.h"

namespace ck {

// conv.cc. x, dx: [n, h, w, c]; y, dy: [n, oh, ow, outC]; w, dw: [kh, kw, c, outC]
bool conv2d(const float* x, const float* w, float* y, const Geom& g);
// The forward pass for inference plans: y rows `ldy` floats apart (a channel slice of a concatenation when
// ldy > outC), and the epilogue (bias, activation) applied to y. ep may be null.
struct Epilogue;
bool conv2dEx(const float* x, const float* w, float* y, const Geom& g, long ldy, const Epilogue* ep,
              const float* packed = nullptr);
// The kernel packed as conv2dEx's path for g reads it (`packed`), for the active ISA: the direct kernels for few
// output channels, or the small-M GEMM for few output pixels (smallPack). An inference plan packs once
// instead of every call. Size 0: that path does not take a packed kernel.
long conv2dPackedSize(const Geom& g);
void conv2dPack(const float* w, const Geom& g, float* dst);
bool conv2dBackpropInput(const float* dy, const float* w, float* dx, const Geom& g);
bool conv2dBackpropFilter(const float* x, const float* dy, float* dw, const Geom& g);

// depthwise.cc. x, dx: [n, h, w, c]; y, dy: [n, oh, ow, c * m]; w, dw: [kh, kw, c, m], m = depthMultiplier
bool depthwiseConv2d(const float* x, const float* w, float* y, const Geom& g);
// With the epilogue (bias, activation) applied to each output row as soon as it is written; ep may be null.
bool depthwiseConv2dEx(const float* x, const float* w, float* y, const Geom& g, const Epilogue* ep);
// A depthwise convolution (g: depth multiplier 1; dwEp: a clip) and the pointwise one that reads its output
// (pwPacked: [c, outC] as gemmPack lays it out), tile by tile: y (row stride ldy) = pw(act(dw(x))), without the
// intermediate map ever leaving cache. An inference plan's pair (src/backend/plan/compile.ts).
bool depthwisePointwise(const float* x, const float* dwW, const Epilogue& dwEp, const Geom& g, const float* pwPacked,
                        long outC, float* y, long ldy, const Epilogue& pwEp);
bool depthwiseConv2dBackpropInput(const float* dy, const float* w, float* dx, const Geom& g);
bool depthwiseConv2dBackpropFilter(const float* x, const float* dy, float* dw, const Geom& g);

// pool.cc (g.dh = g.dw = 1). x, dx: [n, h, w, c]; y, dy: [n, oh, ow, c]
void maxPool(const float* x, float* y, const Geom& g);
bool maxPoolBackward(const float* x, const float* dy, float* dx, const Geom& g);
void avgPool(const float* x, float* y, const Geom& g);
void avgPoolBackward(const float* dy, float* dx, const Geom& g);
// Global pools. x, dx: [n, hw, c]; y, dy: [n, c]
void globalAvgPool(const float* x, float* y, long n, long hw, long c);
void globalAvgPoolBackward(const float* dy, float* dx, long n, long hw, long c);
void globalMaxPool(const float* x, float* y, long n, long hw, long c);
void globalMaxPoolBackward(const float* x, const float* dy, float* dx, long n, long hw, long c);


// norm.cc. x, dx, y, dy: [rows, c]; gamma, beta, mean, variance, scale, shift, bias, dgamma, dbeta: [c]
// act: the activation fused after batch norm (Linear, Relu or Relu6). y is then act(bn(x)), and the backward
// pass masks dy where the activation blocked it (its input, recomputed from x, gamma, beta and the
// statistics, not above 0, or not below 6 for Relu6), as if the activation's own backward ran first.
bool batchNormTrain(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* variance,
                    long rows, long c, double eps, Act act);
bool batchNormTrainBackward(const float* x, const float* dy, const float* beta, const float* gamma, const float* mean,
                            const float* variance, float* dx, float* dgamma, float* dbeta, long rows, long c,
                            double eps, Act act);
void channelAffine(const float* x, const float* scale, const float* shift, float* y, long rows, long c, Act act);
void biasAdd(const float* x, const float* bias, float* y, long rows, long c);
// y: [c], the column sums of x [rows, c]
bool sumRows(const float* x, float* y, long rows, long c);

// elementwise.cc. Every array [n], except softmax's x, y, dy, dx: [rows, c]
enum class Binary { Add = 0, Sub = 1, Mul = 2 };
void binary(Binary op, const float* a, const float* b, float* y, long n);
// y = parts[0] + parts[1] + ... + parts[k - 1], added left to right per element.
void addN(const float* const* parts, int k, float* y, long n);
void scale(const float* a, double s, float* y, long n);
double sum(const float* a, long n);
double sumSquares(const float* a, long n);
bool allFinite(const float* a, long n);
// y = x * mask, mask i = 1 / (1 - rate) when dropoutBits(seed, i) >= round(rate * 2^24), else 0
// (src/backend/reference/elementwise.ts, dropoutBits: the same bits on every backend).
void dropout(const float* x, double rate, uint32_t seed, float* y, long n);
void activation(Act kind, const float* x, float* y, long n);
void activationBackward(Act kind, const float* x, const float* y, const float* dy, float* dx, long n);
void softmax(const float* x, float* y, long rows, long c);
void softmaxBackward(const float* y, const float* dy, float* dx, long rows, long c);
// Strided block copy (concat, split, pad, crop): for every block b < blocks and row i < rows,
// dst[b * dstBlockStride + i * dstStride + j] = src[b * srcBlockStride + i * srcStride + j], j < width.
void copyRows(const float* src, long srcStride, long srcBlockStride, float* dst, long dstStride, long dstBlockStride,
              long blocks, long rows, long width);
// dst row i (rowLength floats) = src row indices[i], i < count; the indices are checked by the caller.
void gatherRows(const float* src, long rowLength, const int32_t* indices, long count, float* dst);

// optim.cc, in place. Every array [n]; velocity may be null (plain SGD).
void adamUpdate(float* param, const float* grad, float* m, float* v, long n, double alpha, double beta1, double beta2,
                double epsilon);
void sgdUpdate(float* param, const float* grad, float* velocity, long n, double lr, double momentum, bool nesterov);

}  // namespace ck
