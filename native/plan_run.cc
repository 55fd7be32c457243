// Running an inference plan's ops (native/plan.h): each op calls the same kernels as the layer-by-layer path,
// with the epilogue, the packed weights and the channel-slice outputs the plan gives it.
#include "gemm.h"
#include "gemm_small.h"
#include "kernels.h"
#include "plan.h"
#include "threadpool.h"

namespace ck {
namespace {

const float* constPtr(const Plan& p, const PlanOp& o, size_t i) {
  return i < o.consts.size() && o.consts[i] >= 0 ? p.consts[o.consts[i]].p : nullptr;
}

// The activation on n values in place (after ops whose kernels have no epilogue of their own).
void activateInPlace(Act act, float* y, long n) {
  if (act == Act::Linear) return;
  // Through the epilogue's clip (branch-free in place), threaded over chunks for large arrays.
  const Epilogue ep{nullptr, act};
  const long chunk = 1 << 16;
  parallel(threadsFor(n, chunk), [&](int tid, int nt) {
    long i0, i1;
    splitRange(n, nt, tid, &i0, &i1);
    if (i1 > i0) applyEpilogue(ep, y + i0, i1 - i0, 1, 0, i1 - i0);
  });
}

}  // namespace

Geom geomOf(const PlanOp& o) {
  Geom g;
  long* f = &g.n;
  for (int k = 0; k < kGeomFields; ++k) f[k] = o.ints[k];
  return g;
}

bool runOp(const Plan& p, const PlanOp& o, const float* x, float* y, float* const* bufs) {
  auto at = [&](Slot s) -> float* { return (s.buf == -1 ? const_cast<float*>(x) : s.buf == -2 ? y : bufs[s.buf]) + s.off; };
  float* out = at(o.out);
  const float* in0 = o.in.empty() ? nullptr : at(o.in[0]);
  const Epilogue ep{constPtr(p, o, 1), o.act};
  switch (o.op) {
    case Op::Conv: {
      // A second input is a residual summand (compile.ts fused the add after the convolution into it), laid
      // out like the output: act((conv + bias) + summand) in the epilogue.
      const Geom g = geomOf(o);
      const Epilogue residual{ep.bias, ep.act, o.in.size() > 1 ? at(o.in[1]) : nullptr, g.outC};
      return conv2dEx(in0, constPtr(p, o, 0), out, g, o.outLd, &residual, o.packed.empty() ? nullptr : o.packed.data());
    }
    case Op::Depthwise: return depthwiseConv2dEx(in0, constPtr(p, o, 0), out, geomOf(o), &ep);
    case Op::DepthwisePointwise: {
      // ints: the depthwise geometry, then the pointwise outputs and the depthwise activation; consts: the
      // depthwise kernel and bias, the pointwise kernel (packed) and bias; act: the pointwise activation.
      const Geom g = geomOf(o);
      const Epilogue dwEp{constPtr(p, o, 1), static_cast<Act>(o.ints[kGeomFields + 1])};
      const Epilogue pwEp{constPtr(p, o, 3), o.act, o.in.size() > 1 ? at(o.in[1]) : nullptr, o.ints[kGeomFields]};
      return depthwisePointwise(in0, constPtr(p, o, 0), dwEp, g, o.packed.data(), o.ints[kGeomFields], out, o.outLd, pwEp);
    }
    case Op::Dense: {
      const long m = o.ints[0], k = o.ints[1], n = o.ints[2];
      // Few samples (batch-1 serving): stream the weights once (gemm_small.cc), as matmul does.
      // Packed for the column stream (2..48 samples) or the main GEMM (more); a single sample streams the
      // weights as they are (matrix-vector).
      const float* packed = o.packed.empty() ? nullptr : o.packed.data();
      if (packed && smallPackedSize(m, n, k) > 0) return gemmSmallM(StridedPanels(in0, k, 1), nullptr, n, m, n, k, out, o.outLd, &ep, packed);
      if (packed) return gemm(StridedPanels(in0, k, 1), PrepackedPanels(packed, k, gemmKernel().nr), m, n, k, out, o.outLd, false, &ep);
      if (smallMFits(m, n, k)) return gemmSmallM(StridedPanels(in0, k, 1), constPtr(p, o, 0), n, m, n, k, out, o.outLd, &ep);
      return gemm(StridedPanels(in0, k, 1), StridedPanels(constPtr(p, o, 0), 1, n), m, n, k, out, o.outLd, false, &ep);
    }
    case Op::MaxPool: maxPool(in0, out, geomOf(o)); break;
    case Op::AvgPool: avgPool(in0, out, geomOf(o)); break;
    case Op::GlobalAvg: globalAvgPool(in0, out, o.ints[0], o.ints[1], o.ints[2]); break;
    case Op::GlobalMax: globalMaxPool(in0, out, o.ints[0], o.ints[1], o.ints[2]); break;
    case Op::Add: {
      const float* parts[8];
      const int k = static_cast<int>(o.in.size());
      for (int i = 0; i < k; ++i) parts[i] = at(o.in[i]);
      addN(parts, k, out, o.ints[0]);
      break;
    }
    case Op::Affine:
      channelAffine(in0, constPtr(p, o, 0), constPtr(p, o, 1), out, o.ints[0], o.ints[1], o.act);
      return true;
    case Op::Bias: biasAdd(in0, constPtr(p, o, 0), out, o.ints[0], o.ints[1]); break;
    case Op::Activation: activation(o.act, in0, out, o.ints[0]); return true;
    case Op::Softmax: softmax(in0, out, o.ints[0], o.ints[1]); return true;
    case Op::Concat: {
      // Parts that were not written in place: ints = rows, total width, then (column offset, width) per input.
      const long rows = o.ints[0], total = o.ints[1];
      for (size_t i = 0; i < o.in.size(); ++i) {
        const long off = o.ints[2 + 2 * i], width = o.ints[3 + 2 * i];
        copyRows(at(o.in[i]), width, 0, out + off, total, 0, 1, rows, width);
      }
      return true;
    }
    case Op::Pad: {
      // ints = n, h, w, c, top, bottom, left, right
      const long n = o.ints[0], h = o.ints[1], w = o.ints[2], c = o.ints[3], t = o.ints[4], b = o.ints[5];
      const long l = o.ints[6], r = o.ints[7], oh = h + t + b, ow = w + l + r;
      std::memset(out, 0, static_cast<size_t>(n * oh * ow * c) * sizeof(float));
      copyRows(in0, w * c, h * w * c, out + (t * ow + l) * c, ow * c, oh * ow * c, n, h, w * c);
      return true;
    }
    case Op::Binary: binary(static_cast<Binary>(o.ints[0]), in0, at(o.in[1]), out, o.ints[1]); break;
    case Op::Scale: scale(in0, constPtr(p, o, 0)[0], out, o.ints[0]); break;
  }
  // Ops whose kernels do not apply the activation themselves.
  if (o.op == Op::Add || o.op == Op::Bias || o.op == Op::MaxPool || o.op == Op::AvgPool || o.op == Op::GlobalAvg ||
      o.op == Op::GlobalMax || o.op == Op::Binary || o.op == Op::Scale) {
    long n = 0;
    switch (o.op) {
      case Op::Add: n = o.ints[0]; break;
      case Op::Bias: n = o.ints[0] * o.ints[1]; break;
      case Op::GlobalAvg:
      case Op::GlobalMax: n = o.ints[0] * o.ints[2]; break;
      case Op::Binary: n = o.ints[1]; break;
      case Op::Scale: n = o.ints[0]; break;
      default: {
        const Geom g = geomOf(o);
        n = g.n * g.oh * g.ow * g.c;
      }
    }
    activateInPlace(o.act, out, n);
  }
  return true;
}

}  // namespace ck
