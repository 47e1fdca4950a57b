{
  "targets": [
    {
      "target_name": "gredge_native",
      "sources": [
        "native/src/napi_bridge.cc",
        "native/src/napi_debug.cc",
        "native/src/gre.cc",
        "native/src/offload.cc",
        "native/src/lpm.cc",
        "native/src/tables.cc",
        "native/src/tun_linux.cc",
        "native/src/worker.cc",
        "native/src/uring.cc",
        "native/src/fastpath.cc",
        "native/src/nexthop.cc",
        "native/src/fib_writer.cc",
        "native/src/napi_fib.cc",
        "native/src/sd_notify.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
