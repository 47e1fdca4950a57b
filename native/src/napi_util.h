// N-API helpers shared by the addon's N-API files (napi_bridge.cc: the data plane object;
// napi_fib.cc: the FIB writer; napi_debug.cc: debug bindings over the pure packet code). Nothing else includes napi.h.
#pragma once
#include <napi.h>

#include <cstring>
#include <string>

namespace gredge {

inline void throw_code(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

inline bool get_bytes(const Napi::Value& v, size_t want, uint8_t* out) {
  if (!v.IsTypedArray()) return false;
  auto a = v.As<Napi::Uint8Array>();
  if (a.TypedArrayType() != napi_uint8_array || a.ByteLength() != want) return false;
  memcpy(out, a.Data(), want);
  return true;
}

inline bool get_u32(const Napi::Object& o, const char* k, uint32_t lo, uint32_t hi, uint32_t* out) {
  Napi::Value v = o.Get(k);
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != double(uint64_t(d))) return false;
  *out = uint32_t(d);
  return true;
}

// Adds the debug bindings (pure functions of gre.cc, offload.cc, lpm.cc, fastpath.cc's filter).
void add_debug_bindings(Napi::Env env, Napi::Object dbg);

// Adds NativeFibWriter (napi_fib.cc): kernel routes and rules over rtnetlink from a thread.
void add_fib_bindings(Napi::Env env, Napi::Object exports);

// Adds sdNotify (sd_notify.cc): one datagram to $NOTIFY_SOCKET, path or abstract name.
void add_sd_notify_bindings(Napi::Env env, Napi::Object exports);

}  // namespace gredge
