// GEMM for a C of few rows (gemm_small.cc): batch-1 inference, where a convolution's output has few pixels
// or a dense layer few samples, and the work is streaming the weights once.
#pragma once

#include "gemm.h"

namespace ck {

// Whether gemmSmallM should take C [m, n] = A [m, k] B [k, n] (a function of the shape only).
bool smallMFits(long m, long n, long k);

// C [m, n] (row stride ldc) = A [m, k] * B [k, n], then the epilogue if one is given. A is any Panelizer (m
// rows of depth k: x itself, or its im2col rows); B is read in place, element (p, j) at b[p * ldb + j].
// Threads split the columns of C and, for few columns, the depth into segments fixed by the shape, whose
// partial products are added in segment order: the result is bitwise independent of the thread count.
// `packed`, when given, is B laid out by smallPack for the active ISA (an inference plan's weights), for shapes
// where smallPackedSize is not 0. Returns false when workspace memory could not be allocated.
bool gemmSmallM(const Panelizer& a, const float* b, long ldb, long m, long n, long k, float* c, long ldc,
                const Epilogue* ep, const float* packed = nullptr);

// Floats of B [k, n] packed for C of m rows (2..48), or 0 where gemmSmallM reads B as it is: packing pays for
// the repeated products of an inference plan, not for one product (plans pack 49..64 rows for the main GEMM
// instead, gemmPack).
long smallPackedSize(long m, long n, long k);
// dst [smallPackedSize floats] = B [k, n] (row stride ldb) laid out for the active ISA.
void smallPack(const float* b, long ldb, long n, long k, float* dst);

}  // namespace ck
