// The addon's entry point and the JS-visible data plane object (with napi_debug.cc and
// napi_util.h, the only code that includes napi.h).
// JS (src/dataplane/native.ts) validates and packs arguments; this file checks types and
// ranges once more (a bad value must never reach the packet path) and throws errors carrying a
// stable `code` that src/dataplane/errors.ts turns into GredgeError.
#include <napi.h>

#include <arpa/inet.h>

#include <cstring>
#include <set>

#include "fastpath.h"
#include "gre.h"
#include "napi_util.h"

namespace gredge {
namespace {

constexpr int kAbiVersion = 4;

const char* code_of(NetErr e) {
  switch (e) {
    case NetErr::kPermission:
      return "ERR_TUN_PERMISSION";
    case NetErr::kOpen:
      return "ERR_TUN_OPEN";
    case NetErr::kNetlink:
      return "ERR_DATAPLANE";
    case NetErr::kArg:
      return "ERR_DATAPLANE_ARG";
    default:
      return "ERR_DATAPLANE";
  }
}

class NativeDataplane;

// Per-environment state (worker_threads each get their own): the class constructor and the
// open data planes, closed by the environment cleanup hook.
struct Addon {
  Napi::FunctionReference ctor;
  std::set<NativeDataplane*> open;
  ~Addon();
};

struct StateEvent {
  uint32_t idx;
  bool up;
};

class NativeDataplane : public Napi::ObjectWrap<NativeDataplane> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeDataplane",
                       {InstanceMethod("addTunnel", &NativeDataplane::AddTunnel),
                        InstanceMethod("replaceTunnel", &NativeDataplane::ReplaceTunnel),
                        InstanceMethod("removeTunnel", &NativeDataplane::RemoveTunnel),
                        InstanceMethod("addRoutes", &NativeDataplane::AddRoutes),
                        InstanceMethod("removeRoutes", &NativeDataplane::RemoveRoutes),
                        InstanceMethod("lookup", &NativeDataplane::Lookup),
                        InstanceMethod("counters", &NativeDataplane::Counters),
                        InstanceMethod("address", &NativeDataplane::Address),
                        InstanceMethod("route", &NativeDataplane::Route),
                        InstanceMethod("routeCount", &NativeDataplane::RouteCount),
                        InstanceMethod("info", &NativeDataplane::Info),
                        InstanceMethod("setPersistent", &NativeDataplane::SetPersistent),
                        InstanceMethod("close", &NativeDataplane::Close)});
  }

  NativeDataplane(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeDataplane>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw_code(env, "ERR_DATAPLANE_ARG", "NativeDataplane(opts, onEvent)");
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    FastpathConfig cfg;
    uint32_t workers = 0, mtu = 0;
    if (!o.Get("tun").IsString() || !get_u32(o, "workers", 1, Fastpath::kMaxWorkers, &workers) ||
        !get_u32(o, "mtu", 576, 65535, &mtu)) {
      throw_code(env, "ERR_DATAPLANE_ARG", "opts: tun (string), workers (1..32), mtu (576..65535)");
      return;
    }
    cfg.tun = o.Get("tun").As<Napi::String>().Utf8Value();
    cfg.workers = int(workers);
    cfg.mtu = mtu;
    cfg.persistent = o.Get("persistent").ToBoolean().Value();
    Napi::Value off = o.Get("offload");
    cfg.offload = off.IsUndefined() ? true : off.ToBoolean().Value();
    Napi::Value dtx = o.Get("directTx");
    cfg.direct_tx = dtx.IsUndefined() ? true : dtx.ToBoolean().Value();
    if (o.Has("local4") && !o.Get("local4").IsUndefined()) {
      if (!get_bytes(o.Get("local4"), 4, cfg.local4)) {
        throw_code(env, "ERR_DATAPLANE_ARG", "local4: 4 bytes");
        return;
      }
      cfg.has_local4 = true;
    }
    if (o.Has("local6") && !o.Get("local6").IsUndefined()) {
      if (!get_bytes(o.Get("local6"), 16, cfg.local6)) {
        throw_code(env, "ERR_DATAPLANE_ARG", "local6: 16 bytes");
        return;
      }
      cfg.has_local6 = true;
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "gredge-dataplane-events", 0, 1);
    tsfn_.Unref(env);
    live_ = true;
    NetResult res;
    Napi::ThreadSafeFunction tsfn = tsfn_;
    fp_ = Fastpath::open(
        cfg,
        [tsfn](uint32_t idx, bool up) mutable {
          auto* ev = new StateEvent{idx, up};
          napi_status st = tsfn.NonBlockingCall(ev, [](Napi::Env env, Napi::Function fn, StateEvent* e) {
            if (env != nullptr && fn != nullptr)
              fn.Call({Napi::Number::New(env, e->idx), Napi::Boolean::New(env, e->up)});
            delete e;
          });
          if (st != napi_ok) delete ev;
        },
        &res);
    if (!fp_) {
      tsfn_.Release();
      live_ = false;
      throw_code(env, code_of(res.err), res.msg);
      return;
    }
    addon_ = env.GetInstanceData<Addon>();
    addon_->open.insert(this);
  }

  ~NativeDataplane() override {
    Shutdown();
    if (addon_) addon_->open.erase(this);
  }
  void Detach() { addon_ = nullptr; }

  void Shutdown() {
    if (fp_) fp_->close();
    fp_.reset();
    if (live_) tsfn_.Release();
    live_ = false;
  }

 private:
  bool Check(Napi::Env env) {
    if (!fp_) {
      throw_code(env, "ERR_DATAPLANE_CLOSED", "the data plane is closed");
      return false;
    }
    fp_->reclaim();
    return true;
  }

  // Spec layout: see TunnelSpecNative in src/dataplane/native.ts.
  Tunnel* ParseTunnel(Napi::Env env, const Napi::Value& v) {
    if (!v.IsObject()) return throw_code(env, "ERR_DATAPLANE_ARG", "tunnel spec must be an object"), nullptr;
    Napi::Object o = v.As<Napi::Object>();
    auto t = std::make_unique<Tunnel>();
    uint32_t family = 0, mtu = 0, key = 0, ka_ms = 0, ka_retries = 0;
    if (!o.Get("name").IsString() || !get_u32(o, "family", 4, 6, &family) || family == 5 ||
        !get_u32(o, "key", 0, 0xffffffffu, &key) || !get_u32(o, "mtu", 576, 65535 - 64, &mtu) ||
        !get_u32(o, "keepaliveMs", 0, 3600000, &ka_ms) || !get_u32(o, "keepaliveRetries", 0, 255, &ka_retries))
      return throw_code(env, "ERR_DATAPLANE_ARG", "tunnel spec: name, family, key, mtu, keepaliveMs, keepaliveRetries"),
             nullptr;
    t->name = o.Get("name").As<Napi::String>().Utf8Value();
    t->family = int(family);
    t->key = key;
    t->mtu = mtu;
    t->seq = o.Get("sequence").ToBoolean().Value();
    t->csum = o.Get("checksum").ToBoolean().Value();
    t->mss_clamp = o.Get("mssClamp").ToBoolean().Value();
    t->ka_interval_ms = ka_ms;
    t->ka_retries = ka_retries;
    size_t alen = family == 4 ? 4 : 16;
    if (!get_bytes(o.Get("remote"), alen, t->remote))
      return throw_code(env, "ERR_DATAPLANE_ARG", "tunnel remote: address of the underlay family"), nullptr;
    if (!o.Get("local").IsUndefined() && !get_bytes(o.Get("local"), alen, t->local))
      return throw_code(env, "ERR_DATAPLANE_ARG", "tunnel local: address of the underlay family"), nullptr;
    if (family == 4) {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&t->remote_sa);
      s4->sin_family = AF_INET;
      memcpy(&s4->sin_addr, t->remote, 4);
      t->remote_sa_len = sizeof(sockaddr_in);
      t->remote4 = rd32(t->remote);
      t->local4 = rd32(t->local);
    } else {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&t->remote_sa);
      s6->sin6_family = AF_INET6;
      memcpy(&s6->sin6_addr, t->remote, 16);
      t->remote_sa_len = sizeof(sockaddr_in6);
    }
    if (!o.Get("inner4").IsUndefined()) {
      if (!get_bytes(o.Get("inner4"), 4, t->inner4)) return throw_code(env, "ERR_DATAPLANE_ARG", "inner4"), nullptr;
      t->has_inner4 = true;
    }
    if (!o.Get("inner6").IsUndefined()) {
      if (!get_bytes(o.Get("inner6"), 16, t->inner6)) return throw_code(env, "ERR_DATAPLANE_ARG", "inner6"), nullptr;
      t->has_inner6 = true;
    }
    Napi::Value al = o.Get("allowed");
    if (!al.IsTypedArray() || al.As<Napi::Uint8Array>().ByteLength() % 18 != 0)
      return throw_code(env, "ERR_DATAPLANE_ARG", "allowed: packed 18-byte prefixes"), nullptr;
    auto a = al.As<Napi::Uint8Array>();
    for (size_t off = 0; off < a.ByteLength(); off += 18) {
      Prefix p;
      p.family = a.Data()[off];
      p.len = a.Data()[off + 1];
      memcpy(p.addr, a.Data() + off + 2, 16);
      if ((p.family != 4 && p.family != 6) || p.len > (p.family == 4 ? 32 : 128))
        return throw_code(env, "ERR_DATAPLANE_ARG", "allowed: bad prefix"), nullptr;
      t->allowed.push_back(p);
    }
    return t.release();
  }

  Napi::Value AddTunnel(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    Tunnel* t = ParseTunnel(env, info[0]);
    if (!t) return env.Undefined();
    std::string err = fp_->tables().add(t, false);
    if (!err.empty()) return throw_code(env, "ERR_DATAPLANE_ARG", err), env.Undefined();
    // add() chose the index. t stays valid here: only this thread retires tunnels.
    return Napi::Number::New(env, t->idx);
  }

  Napi::Value ReplaceTunnel(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    if (!info[0].IsNumber()) return throw_code(env, "ERR_DATAPLANE_ARG", "replaceTunnel(index, spec)"), env.Undefined();
    Tunnel* t = ParseTunnel(env, info[1]);
    if (!t) return env.Undefined();
    t->idx = info[0].As<Napi::Number>().Uint32Value();
    std::string err = fp_->tables().add(t, true);
    if (!err.empty()) throw_code(env, "ERR_DATAPLANE_ARG", err);
    return env.Undefined();
  }

  Napi::Value RemoveTunnel(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    if (!info[0].IsNumber()) return throw_code(env, "ERR_DATAPLANE_ARG", "removeTunnel(index)"), env.Undefined();
    std::string err = fp_->tables().remove(info[0].As<Napi::Number>().Uint32Value());
    if (!err.empty()) throw_code(env, "ERR_DATAPLANE_ARG", err);
    return env.Undefined();
  }

  // Routes: packed 24-byte records [family, len, 0, 0, tunnel u32 LE, address 16].
  Napi::Value Routes(const Napi::CallbackInfo& info, bool add) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    if (!info[0].IsTypedArray() || info[0].As<Napi::Uint8Array>().ByteLength() % 24 != 0)
      return throw_code(env, "ERR_DATAPLANE_ARG", "routes: packed 24-byte records"), env.Undefined();
    auto a = info[0].As<Napi::Uint8Array>();
    const uint8_t* d = a.Data();
    uint32_t done = 0;
    Tables& tb = fp_->tables();
    for (size_t off = 0; off < a.ByteLength(); off += 24) {
      uint8_t fam = d[off], len = d[off + 1];
      uint32_t idx;
      memcpy(&idx, d + off + 4, 4);
      if ((fam != 4 && fam != 6) || len > (fam == 4 ? 32 : 128))
        return throw_code(env, "ERR_DATAPLANE_ARG", "routes: bad prefix"), env.Undefined();
      if (add && !tb.tunnel(idx)) return throw_code(env, "ERR_DATAPLANE_ARG", "routes: no such tunnel"), env.Undefined();
      bool ok;
      if (fam == 4)
        ok = add ? tb.lpm4.insert(rd32(d + off + 8), len, idx) : tb.lpm4.remove(rd32(d + off + 8), len);
      else
        ok = add ? tb.lpm6.insert(d + off + 8, len, idx) : tb.lpm6.remove(d + off + 8, len);
      if (!ok && add) return throw_code(env, "ERR_DATAPLANE", "route table full"), env.Undefined();
      done += ok;
    }
    return Napi::Number::New(env, done);
  }
  Napi::Value AddRoutes(const Napi::CallbackInfo& info) { return Routes(info, true); }
  Napi::Value RemoveRoutes(const Napi::CallbackInfo& info) { return Routes(info, false); }

  Napi::Value RouteCount(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    o.Set("v4", double(fp_->tables().lpm4.size()));
    o.Set("v6", double(fp_->tables().lpm6.size()));
    return o;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    o.Set("offload", fp_->offload_active());
    o.Set("directTx", fp_->direct_tx_active());
    o.Set("workers", fp_->config().workers);
    return o;
  }

  Napi::Value Lookup(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    uint8_t a[16];
    uint32_t r;
    if (get_bytes(info[0], 4, a))
      r = fp_->tables().lpm4.lookup(rd32(a));
    else if (get_bytes(info[0], 16, a))
      r = fp_->tables().lpm6.lookup(a);
    else
      return throw_code(env, "ERR_DATAPLANE_ARG", "lookup(address bytes)"), env.Undefined();
    return Napi::Number::New(env, r == kNoRoute ? -1 : double(r));
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    if (counters_.IsEmpty()) {
      auto* keep = new std::shared_ptr<uint64_t>(fp_->counters());
      size_t bytes = fp_->counter_slices() * kSliceSlots * 8;
      auto ab = Napi::ArrayBuffer::New(env, keep->get(), bytes,
                                       [](Napi::Env, void*, std::shared_ptr<uint64_t>* k) { delete k; }, keep);
      counters_ = Napi::Persistent(ab);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("buffer", counters_.Value());
    o.Set("slices", double(fp_->counter_slices()));
    o.Set("sliceSlots", double(kSliceSlots));
    o.Set("globalSlots", double(kGlobalSlots));
    o.Set("tunnelSlots", double(kTunnelSlots));
    o.Set("maxTunnels", double(kMaxTunnels));
    return o;
  }

  Napi::Value AddrOrRoute(const Napi::CallbackInfo& info, bool route) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    uint8_t a[16];
    bool add = info[0].ToBoolean().Value();
    if (!info[1].IsNumber() || !info[3].IsNumber())
      return throw_code(env, "ERR_DATAPLANE_ARG", "(add, family, address, plen[, table])"), env.Undefined();
    int fam = info[1].As<Napi::Number>().Int32Value();
    int plen = info[3].As<Napi::Number>().Int32Value();
    if ((fam != 4 && fam != 6) || !get_bytes(info[2], fam == 4 ? 4 : 16, a) || plen < 0 || plen > (fam == 4 ? 32 : 128))
      return throw_code(env, "ERR_DATAPLANE_ARG", "bad address or prefix length"), env.Undefined();
    // route: (add, family, address, plen[, table[, mtu[, prefsrc]]]);
    // address: (add, family, address, plen[, noPrefixRoute])
    uint32_t table = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Uint32Value() : 254;
    uint32_t mtu = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Uint32Value() : 0;
    uint8_t src[16];
    bool has_src = route && info.Length() > 6 && !info[6].IsUndefined();
    if (has_src && !get_bytes(info[6], fam == 4 ? 4 : 16, src))
      return throw_code(env, "ERR_DATAPLANE_ARG", "bad preferred source address"), env.Undefined();
    bool no_prefix_route = !route && info.Length() > 4 && info[4].ToBoolean().Value();
    NetResult r = route ? nl_route(add, fp_->ifindex(), fam, a, plen, table, mtu, has_src ? src : nullptr)
                        : nl_address(add, fp_->ifindex(), fam, a, plen, no_prefix_route);
    if (!r.ok()) throw_code(env, code_of(r.err), r.msg);
    return env.Undefined();
  }
  Napi::Value Address(const Napi::CallbackInfo& info) { return AddrOrRoute(info, false); }
  Napi::Value Route(const Napi::CallbackInfo& info) { return AddrOrRoute(info, true); }

  Napi::Value SetPersistent(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Check(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsBoolean())
      return throw_code(env, "ERR_DATAPLANE_ARG", "setPersistent(persist: boolean)"), env.Undefined();
    NetResult r = fp_->set_persistent(info[0].As<Napi::Boolean>().Value());
    if (!r.ok()) throw_code(env, code_of(r.err), r.msg);
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    if (addon_) addon_->open.erase(this);
    addon_ = nullptr;
    return info.Env().Undefined();
  }

  Addon* addon_ = nullptr;
  std::unique_ptr<Fastpath> fp_;
  Napi::ThreadSafeFunction tsfn_;
  bool live_ = false;
  Napi::Reference<Napi::ArrayBuffer> counters_;
};

// Environment teardown: no worker thread may outlive the JS heap it reports to.
Addon::~Addon() {
  for (auto* d : open) {
    d->Shutdown();
    d->Detach();
  }
}

// ------------------------------------------------------------------ module functions

Napi::Value SetTcpMaxSeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber())
    return throw_code(env, "ERR_DATAPLANE_ARG", "setTcpMaxSeg(fd, mss)"), env.Undefined();
  NetResult r = set_tcp_maxseg(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  if (!r.ok()) throw_code(env, "ERR_SOCKET", r.msg);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* addon = new Addon();
  env.SetInstanceData<Addon>(addon);
  Napi::Function ctor = NativeDataplane::Define(env);
  addon->ctor = Napi::Persistent(ctor);
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  exports.Set("NativeDataplane", ctor);
  exports.Set("setTcpMaxSeg", Napi::Function::New(env, SetTcpMaxSeg));
  add_fib_bindings(env, exports);
  add_sd_notify_bindings(env, exports);
  Napi::Object dbg = Napi::Object::New(env);
  add_debug_bindings(env, dbg);
  exports.Set("debug", dbg);
  return exports;
}

}  // namespace
}  // namespace gredge

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return gredge::Init(env, exports); }
NODE_API_MODULE(gredge_native, InitModule)
