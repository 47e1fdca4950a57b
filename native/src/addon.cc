// gredge native addon entry point. The data plane (TUN, raw GRE sockets, worker threads)
// is registered here; see native/src/*.cc.
#include <napi.h>

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

NODE_API_MODULE(gredge_native, Init)
