{
  # The optional MPI addon (native/mpi/mpi.cc), built by scripts/build-native.mjs only when `mpicxx` is on the
  # PATH: node-gyp --directory=native/mpi, output native/mpi/build/Release/convkit_mpi.node. The compile and
  # link flags are the MPI wrapper's own (`mpicxx --showme:compile` / `--showme:link`), so any MPI install that
  # ships a wrapper works, wherever its headers and libraries live.
  "targets": [
    {
      "target_name": "convkit_mpi",
      "sources": ["mpi.cc"],
      "defines": ["NAPI_VERSION=8", "OMPI_SKIP_MPICXX=1", "MPICH_SKIP_MPICXX=1"],
      "cflags": ["-O3", "<!@(mpicxx --showme:compile)"],
      "cflags_cc": ["-std=gnu++17"],
      "libraries": ["<!@(mpicxx --showme:link)", "-ldl"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-O2", "-std=gnu++17", "<!@(mpicxx --showme:compile)"],
        "OTHER_LDFLAGS": ["<!@(mpicxx --showme:link)"]
      }
    }
  ]
}
