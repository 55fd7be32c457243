{
  # Built by scripts/build-native.mjs (npm install / npm run build:native) with node-gyp and the headers of the
  # running Node (--nodedir), so nothing is downloaded. Plain C N-API (node_api.h), no node-addon-api.
  "targets": [
    {
      "target_name": "convkit_native",
      "sources": [
        "native/addon.cc",
        "native/addon_elementwise.cc",
        "native/threadpool.cc",
        "native/isa.cc",
        "native/gemm.cc",
        "native/gemm_panels.cc",
        "native/gemm_kernels.cc",
        "native/gemm_small.cc",
        "native/conv.cc",
        "native/conv_edges.cc",
        "native/conv_few.cc",
        "native/conv_planar.cc",
        "native/depthwise.cc",
        "native/pool.cc",
        "native/norm.cc",
        "native/elementwise.cc",
        "native/optim.cc",
        "native/peak.cc",
        "native/plan.cc",
        "native/plan_run.cc",
        "native/winograd.cc"
      ],
      "defines": ["NAPI_VERSION=8"],
      # No -march=native: the binary must run on any CPU of its architecture. Wider ISAs are reached through
      # per-function target attributes and runtime dispatch (native/isa.h).
      # -ffp-contract=fast lets a * b + c become one FMA where the target has it (GCC's GNU-mode default,
      # stated so that -std=c++17 could never silently turn it off); -fno-math-errno lets sqrt inline.
      "cflags": ["-O3", "-fno-math-errno", "-ffp-contract=fast", "-fvisibility=hidden"],
      "cflags_cc": ["-std=gnu++17", "-Wno-psabi"],
      "cflags!": ["-O0", "-O2"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=gnu++17", "-fno-math-errno", "-ffp-contract=fast"],
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      }
    }
  ]
}
