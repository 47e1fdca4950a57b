// Debug bindings: the exact packet code the workers run (GRE, checksums, MSS clamp, PTB,
// keepalives, LPM, TSO/GRO, the worker-split socket filter, link-scope multicast), callable
// from the tests with bytes in and bytes out. Not part of the public API (src/dataplane/native.ts
// types them).
#include <arpa/inet.h>

#include <vector>

#include "fastpath.h"
#include "gre.h"
#include "lpm.h"
#include "nexthop.h"
#include "napi_util.h"
#include "offload.h"

namespace gredge {
namespace {

Napi::Buffer<uint8_t> Copy(Napi::Env env, const uint8_t* p, size_t n) { return Napi::Buffer<uint8_t>::Copy(env, p, n); }

// Debug bindings over gre.cc so tests exercise the exact packet code the workers run.
Napi::Value DbgGreParse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) return throw_code(env, "ERR_DATAPLANE_ARG", "greParse(bytes)"), env.Undefined();
  auto a = info[0].As<Napi::Uint8Array>();
  GreHeader h;
  GreStatus st = gre_parse(a.Data(), a.ByteLength(), &h);
  Napi::Object o = Napi::Object::New(env);
  static const char* names[] = {"ok", "short", "bad-flags", "bad-checksum"};
  o.Set("status", names[int(st)]);
  if (st == GreStatus::kOk) {
    o.Set("proto", h.proto);
    o.Set("headerLength", double(h.len));
    o.Set("checksum", h.csum);
    if (h.key_present) o.Set("key", double(h.key));
    if (h.seq_present) o.Set("seq", double(h.seq));
  }
  return o;
}

Napi::Value DbgGreBuild(const Napi::CallbackInfo& info) {
  // greBuild(proto, payload, { key?, seq?, checksum? }) → header + payload
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsObject())
    return throw_code(env, "ERR_DATAPLANE_ARG", "greBuild(proto, payload, opts)"), env.Undefined();
  auto pl = info[1].As<Napi::Uint8Array>();
  Napi::Object o = info[2].As<Napi::Object>();
  bool has_key = o.Get("key").IsNumber(), has_seq = o.Get("seq").IsNumber();
  bool cs = o.Get("checksum").ToBoolean().Value();
  size_t hl = gre_header_len(cs, has_key, has_seq);
  std::vector<uint8_t> out(hl + pl.ByteLength());
  memcpy(out.data() + hl, pl.Data(), pl.ByteLength());
  gre_build(out.data(), uint16_t(info[0].As<Napi::Number>().Uint32Value()), cs, has_key,
            has_key ? o.Get("key").As<Napi::Number>().Uint32Value() : 0, has_seq,
            has_seq ? o.Get("seq").As<Napi::Number>().Uint32Value() : 0, out.size());
  return Copy(env, out.data(), out.size());
}

Napi::Value DbgMssClamp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || !info[1].IsNumber())
    return throw_code(env, "ERR_DATAPLANE_ARG", "mssClamp(packet, mss)"), env.Undefined();
  auto a = info[0].As<Napi::Uint8Array>();
  return Napi::Boolean::New(env, mss_clamp(a.Data(), a.ByteLength(), uint16_t(info[1].As<Napi::Number>().Uint32Value())));
}

Napi::Value DbgBuildPtb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsTypedArray())
    return throw_code(env, "ERR_DATAPLANE_ARG", "buildPtb(packet, mtu, src)"), env.Undefined();
  auto a = info[0].As<Napi::Uint8Array>();
  auto s = info[2].As<Napi::Uint8Array>();
  if (a.ByteLength() == 0 || s.ByteLength() != ((a.Data()[0] >> 4) == 6 ? 16u : 4u))
    return throw_code(env, "ERR_DATAPLANE_ARG", "buildPtb: source of the packet's family"), env.Undefined();
  uint8_t out[1400];
  size_t n = build_ptb(a.Data(), a.ByteLength(), info[1].As<Napi::Number>().Uint32Value(), s.Data(), out, sizeof(out));
  return n ? Napi::Value(Copy(env, out, n)) : env.Null();
}

Napi::Value DbgKeepalive(const Napi::CallbackInfo& info) {
  // keepalive(local u32, remote u32, key) → GRE payload of a keepalive request
  Napi::Env env = info.Env();
  uint8_t out[64];
  size_t n = build_keepalive(out, sizeof(out), info[0].As<Napi::Number>().Uint32Value(),
                             info[1].As<Napi::Number>().Uint32Value(), true, info[2].As<Napi::Number>().Uint32Value());
  return Copy(env, out, n);
}

Napi::Value DbgKeepaliveReflect(const Napi::CallbackInfo& info) {
  // keepaliveReflect(innerIp, local u32, remote u32) → offset of the payload to send back, 0 if none
  Napi::Env env = info.Env();
  auto a = info[0].As<Napi::Uint8Array>();
  return Napi::Number::New(env, double(keepalive_request_payload(a.Data(), a.ByteLength(),
                                                                  info[1].As<Napi::Number>().Uint32Value(),
                                                                  info[2].As<Napi::Number>().Uint32Value())));
}

Napi::Value DbgLpm(const Napi::CallbackInfo& info) {
  // lpmCheck(): an in-process LPM self-test used by the unit tests without a TUN. Takes packed
  // 24-byte route records to insert, then returns lookups for packed 17-byte queries.
  Napi::Env env = info.Env();
  auto routes = info[0].As<Napi::Uint8Array>();
  auto dels = info[1].As<Napi::Uint8Array>();
  auto qs = info[2].As<Napi::Uint8Array>();
  Epoch ep;
  Lpm4 l4(&ep);
  Lpm6 l6(&ep);
  auto apply = [&](const uint8_t* d, size_t n, bool add) {
    for (size_t off = 0; off + 24 <= n; off += 24) {
      uint32_t idx;
      memcpy(&idx, d + off + 4, 4);
      if (d[off] == 4)
        add ? (void)l4.insert(rd32(d + off + 8), d[off + 1], idx) : (void)l4.remove(rd32(d + off + 8), d[off + 1]);
      else
        add ? (void)l6.insert(d + off + 8, d[off + 1], idx) : (void)l6.remove(d + off + 8, d[off + 1]);
    }
  };
  apply(routes.Data(), routes.ByteLength(), true);
  const size_t nodes_full = l6.nodes();
  apply(dels.Data(), dels.ByteLength(), false);
  if (info.Length() > 3 && info[3].IsObject()) {
    // Optional stats sink: IPv6 trie nodes after the inserts and after the removals.
    Napi::Object st = info[3].As<Napi::Object>();
    st.Set("v6NodesAfterInsert", double(nodes_full));
    st.Set("v6NodesAfterRemove", double(l6.nodes()));
    st.Set("v4Routes", double(l4.size()));
    st.Set("v6Routes", double(l6.size()));
  }
  if (info.Length() > 4 && info[4].IsTypedArray()) {
    // Optional third phase: inserts after the removals (exercises reuse of freed nodes/groups).
    auto re = info[4].As<Napi::Uint8Array>();
    apply(re.Data(), re.ByteLength(), true);
  }
  Napi::Int32Array out = Napi::Int32Array::New(env, qs.ByteLength() / 17);
  for (size_t i = 0; i < out.ElementLength(); i++) {
    const uint8_t* q = qs.Data() + i * 17;
    uint32_t r = q[0] == 4 ? l4.lookup(rd32(q + 1)) : l6.lookup(q + 1);
    out[i] = r == kNoRoute ? -1 : int32_t(r);
  }
  return out;
}

Napi::Object VnetToJs(Napi::Env env, const VnetHdr& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("flags", h.flags);
  o.Set("gsoType", h.gso_type);
  o.Set("hdrLen", h.hdr_len);
  o.Set("gsoSize", h.gso_size);
  o.Set("csumStart", h.csum_start);
  o.Set("csumOffset", h.csum_offset);
  return o;
}

Napi::Value DbgTsoSegment(const Napi::CallbackInfo& info) {
  // tsoSegment(packet, { gsoType, gsoSize }) → wire segments, or null when it cannot be cut
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || !info[1].IsObject())
    return throw_code(env, "ERR_DATAPLANE_ARG", "tsoSegment(packet, hdr)"), env.Undefined();
  auto a = info[0].As<Napi::Uint8Array>();
  Napi::Object o = info[1].As<Napi::Object>();
  uint32_t gt = 0, gs = 0;
  if (!get_u32(o, "gsoType", 0, 255, &gt) || !get_u32(o, "gsoSize", 0, 65535, &gs))
    return throw_code(env, "ERR_DATAPLANE_ARG", "hdr: gsoType, gsoSize"), env.Undefined();
  VnetHdr h;
  h.gso_type = uint8_t(gt);
  h.gso_size = uint16_t(gs);
  TsoPlan p;
  if (!tso_plan(a.Data(), a.ByteLength(), h, &p)) return env.Null();
  Napi::Array out = Napi::Array::New(env, p.nseg);
  std::vector<uint8_t> seg(p.hl + p.gso);
  for (uint32_t i = 0; i < p.nseg; i++) out.Set(i, Copy(env, seg.data(), tso_segment(a.Data(), p, i, seg.data())));
  return out;
}

Napi::Value DbgGroCoalesce(const Napi::CallbackInfo& info) {
  // groCoalesce([packets]) → [{ packet, hdr }] in write order, as a decap batch would write them
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) return throw_code(env, "ERR_DATAPLANE_ARG", "groCoalesce(packets[])"), env.Undefined();
  Napi::Array in = info[0].As<Napi::Array>();
  if (in.Length() > uint32_t(Gro::kMaxItems))
    return throw_code(env, "ERR_DATAPLANE_ARG", "groCoalesce: at most 128 packets"), env.Undefined();
  constexpr size_t kSlot = 65600;
  std::vector<uint8_t> mem(size_t(in.Length()) * kSlot);
  Gro gro;
  for (uint32_t i = 0; i < in.Length(); i++) {
    Napi::Value v = in.Get(i);
    if (!v.IsTypedArray()) return throw_code(env, "ERR_DATAPLANE_ARG", "packets: Uint8Array"), env.Undefined();
    auto a = v.As<Napi::Uint8Array>();
    if (a.ByteLength() > kSlot) return throw_code(env, "ERR_DATAPLANE_ARG", "packet too long"), env.Undefined();
    uint8_t* slot = mem.data() + size_t(i) * kSlot;
    memcpy(slot, a.Data(), a.ByteLength());
    gro.add(slot, a.ByteLength(), kSlot);
  }
  Napi::Array out = Napi::Array::New(env, uint32_t(gro.size()));
  for (int i = 0; i < gro.size(); i++) {
    VnetHdr h;
    gro.finish(i, &h);
    Napi::Object o = Napi::Object::New(env);
    o.Set("packet", Copy(env, gro.item(i).ip, gro.item(i).len));
    o.Set("hdr", VnetToJs(env, h));
    out.Set(uint32_t(i), o);
  }
  return out;
}

Napi::Value DbgCsumComplete(const Napi::CallbackInfo& info) {
  // csumComplete(packet, csumStart, csumOffset) → boolean; completes the checksum in place
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber())
    return throw_code(env, "ERR_DATAPLANE_ARG", "csumComplete(packet, start, offset)"), env.Undefined();
  auto a = info[0].As<Napi::Uint8Array>();
  return Napi::Boolean::New(env, csum_complete(a.Data(), a.ByteLength(), info[1].As<Napi::Number>().Uint32Value(),
                                               info[2].As<Napi::Number>().Uint32Value()));
}

Napi::Value DbgSplitFilter(const Napi::CallbackInfo& info) {
  // splitFilter(family, worker, nworkers) → the classic BPF program as [code, jt, jf, k] rows
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    return throw_code(env, "ERR_DATAPLANE_ARG", "splitFilter(family, worker, nworkers)"), env.Undefined();
  auto prog = split_filter(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Uint32Value(),
                           info[2].As<Napi::Number>().Uint32Value());
  Napi::Uint32Array out = Napi::Uint32Array::New(env, prog.size() * 4);
  for (size_t i = 0; i < prog.size(); i++) {
    out[i * 4] = prog[i].code;
    out[i * 4 + 1] = prog[i].jt;
    out[i * 4 + 2] = prog[i].jf;
    out[i * 4 + 3] = prog[i].k;
  }
  return out;
}

Napi::Value DbgPushOuter(const Napi::CallbackInfo& info) {
  // pushOuter({ family, src, dst, hopLimit, eth }, gre, inner) → the frame direct transmit sends
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsTypedArray() || !info[2].IsTypedArray())
    return throw_code(env, "ERR_DATAPLANE_ARG", "pushOuter(path, gre, inner)"), env.Undefined();
  Napi::Object o = info[0].As<Napi::Object>();
  L2Path p;
  p.family = o.Get("family").As<Napi::Number>().Int32Value() == 6 ? 6 : 4;
  const size_t alen = p.family == 4 ? 4 : 16;
  if (!get_bytes(o.Get("src"), alen, p.src) || !get_bytes(o.Get("dst"), alen, p.remote) ||
      !get_bytes(o.Get("eth"), 14, p.eth))
    return throw_code(env, "ERR_DATAPLANE_ARG", "path: src/dst of the family, eth 14 bytes"), env.Undefined();
  p.hop_limit = uint8_t(o.Get("hopLimit").As<Napi::Number>().Uint32Value());
  auto g = info[1].As<Napi::Uint8Array>();
  auto in = info[2].As<Napi::Uint8Array>();
  std::vector<uint8_t> buf(64 + g.ByteLength());
  memcpy(buf.data() + 64, g.Data(), g.ByteLength());
  uint8_t* frame = push_outer(p, buf.data() + 64, g.ByteLength(),
                              p.family == 6 ? inner_flow_label(in.Data(), in.ByteLength()) : 0);
  return Copy(env, frame, size_t(buf.data() + buf.size() - frame));
}

Napi::Value DbgInnerFlowLabel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) return throw_code(env, "ERR_DATAPLANE_ARG", "innerFlowLabel(packet)"), env.Undefined();
  auto a = info[0].As<Napi::Uint8Array>();
  return Napi::Number::New(env, inner_flow_label(a.Data(), a.ByteLength()));
}

Napi::Value DbgLinkScopeMulticast(const Napi::CallbackInfo& info) {
  // linkScopeMulticast(packet) → whether encap keeps it on the link (null: not an IP header,
  // which encap counts as notIp before asking)
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray())
    return throw_code(env, "ERR_DATAPLANE_ARG", "linkScopeMulticast(packet)"), env.Undefined();
  auto a = info[0].As<Napi::Uint8Array>();
  const int v = ip_version(a.Data(), a.ByteLength());
  if (!((v == 4 && a.ByteLength() >= 20) || (v == 6 && a.ByteLength() >= 40))) return env.Null();
  return Napi::Boolean::New(env, link_scope_multicast(a.Data(), v));
}

}  // namespace

void add_debug_bindings(Napi::Env env, Napi::Object dbg) {
  dbg.Set("greParse", Napi::Function::New(env, DbgGreParse));
  dbg.Set("greBuild", Napi::Function::New(env, DbgGreBuild));
  dbg.Set("mssClamp", Napi::Function::New(env, DbgMssClamp));
  dbg.Set("buildPtb", Napi::Function::New(env, DbgBuildPtb));
  dbg.Set("keepalive", Napi::Function::New(env, DbgKeepalive));
  dbg.Set("keepaliveReflect", Napi::Function::New(env, DbgKeepaliveReflect));
  dbg.Set("lpmCheck", Napi::Function::New(env, DbgLpm));
  dbg.Set("tsoSegment", Napi::Function::New(env, DbgTsoSegment));
  dbg.Set("groCoalesce", Napi::Function::New(env, DbgGroCoalesce));
  dbg.Set("csumComplete", Napi::Function::New(env, DbgCsumComplete));
  dbg.Set("splitFilter", Napi::Function::New(env, DbgSplitFilter));
  dbg.Set("pushOuter", Napi::Function::New(env, DbgPushOuter));
  dbg.Set("innerFlowLabel", Napi::Function::New(env, DbgInnerFlowLabel));
  dbg.Set("linkScopeMulticast", Napi::Function::New(env, DbgLinkScopeMulticast));
}

}  // namespace gredge
