// TUN offloads (see offload.h): virtio_net_hdr (virtio v1.1 §5.1.6), TSO segmentation,
// partial-checksum completion (RFC 1071), and TCP GRO for the decap → TUN direction.
#include "offload.h"

#include <cstring>

#include "gre.h"

namespace gredge {

namespace {
constexpr uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpAck = 0x10, kTcpCwr = 0x80;

uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
void wle16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
uint32_t addr_sum(const uint8_t* ip, int v) { return v == 4 ? csum_add(0, ip + 12, 8) : csum_add(0, ip + 8, 32); }
}  // namespace

void vnet_decode(const uint8_t* p, VnetHdr* h) {
  h->flags = p[0];
  h->gso_type = p[1];
  h->hdr_len = le16(p + 2);
  h->gso_size = le16(p + 4);
  h->csum_start = le16(p + 6);
  h->csum_offset = le16(p + 8);
}

void vnet_encode(const VnetHdr& h, uint8_t* p) {
  p[0] = h.flags;
  p[1] = h.gso_type;
  wle16(p + 2, h.hdr_len);
  wle16(p + 4, h.gso_size);
  wle16(p + 6, h.csum_start);
  wle16(p + 8, h.csum_offset);
  wle16(p + 10, 0);  // num_buffers: unused by TUN
}

bool csum_complete(uint8_t* pkt, size_t n, size_t start, size_t offset) {
  if (start >= n || offset > n - start || n - start - offset < 2) return false;
  uint16_t c = csum_fold(csum_add(0, pkt + start, n - start));
  // As the kernel's skb_checksum_help: a computed 0 goes out as 0xffff (RFC 768 for UDP; the
  // same value in one's complement for TCP).
  wr16(pkt + start + offset, c ? c : 0xffff);
  return true;
}

bool tcp_csum_ok(const uint8_t* ip, size_t n, size_t l4) {
  if (l4 >= n) return false;
  const int v = ip[0] >> 4;
  uint32_t s = addr_sum(ip, v) + 6 + uint32_t(n - l4);
  return csum_fold(csum_add(s, ip + l4, n - l4)) == 0;
}

bool tso_plan(const uint8_t* pkt, size_t n, const VnetHdr& h, TsoPlan* p) {
  const uint8_t gt = h.gso_type & uint8_t(~kGsoEcn);
  if ((gt != kGsoTcp4 && gt != kGsoTcp6) || h.gso_size == 0 || n < 1) return false;
  const int v = pkt[0] >> 4;
  if ((gt == kGsoTcp4) != (v == 4) || !ip_header_ok(pkt, n)) return false;
  const size_t len = v == 4 ? rd16(pkt + 2) : size_t(rd16(pkt + 4)) + 40;
  const size_t l4 = tcp_offset(pkt, len);
  if (!l4 || l4 + 20 > len) return false;
  const size_t doff = size_t(pkt[l4 + 12] >> 4) * 4;
  if (doff < 20 || l4 + doff > len) return false;
  p->v = v;
  p->iphl = l4;
  p->hl = l4 + doff;
  p->payload = len - p->hl;
  p->gso = h.gso_size;
  const size_t nseg = p->payload == 0 ? 1 : (p->payload + p->gso - 1) / p->gso;
  if (nseg > 0xffff || p->hl + p->gso > 0xffff) return false;
  p->nseg = uint32_t(nseg);
  p->seq0 = rd32(pkt + l4 + 4);
  p->id0 = v == 4 ? rd16(pkt + 4) : 0;
  p->addr_sum = addr_sum(pkt, v);
  return true;
}

size_t tso_segment(const uint8_t* pkt, const TsoPlan& p, uint32_t i, uint8_t* out) {
  const size_t off = size_t(i) * p.gso;
  const size_t plen = off >= p.payload ? 0 : (p.payload - off < p.gso ? p.payload - off : p.gso);
  const size_t len = p.hl + plen;
  memcpy(out, pkt, p.hl);
  memcpy(out + p.hl, pkt + p.hl + off, plen);
  if (p.v == 4) {
    wr16(out + 2, uint16_t(len));
    wr16(out + 4, uint16_t(p.id0 + i));
    wr16(out + 10, 0);
    wr16(out + 10, csum_fold(csum_add(0, out, p.iphl)));
  } else {
    wr16(out + 4, uint16_t(len - 40));
  }
  uint8_t* tcp = out + p.iphl;
  wr32(tcp + 4, p.seq0 + uint32_t(off));
  if (i + 1 < p.nseg) tcp[13] &= uint8_t(~(kTcpFin | kTcpPsh));
  if (i > 0) tcp[13] &= uint8_t(~kTcpCwr);
  wr16(tcp + 16, 0);
  const size_t l4len = len - p.iphl;
  wr16(tcp + 16, csum_fold(csum_add(p.addr_sum + 6 + uint32_t(l4len), tcp, l4len)));
  return len;
}

// ------------------------------------------------------------------------------------ GRO

namespace {
uint32_t flow_hash(const uint8_t* ip, int v, size_t iphl) {
  // FNV-1a over addresses and ports; 0 is reserved for "not TCP".
  const uint8_t* a = v == 4 ? ip + 12 : ip + 8;
  const size_t an = v == 4 ? 8 : 32;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < an; i++) h = (h ^ a[i]) * 16777619u;
  for (size_t i = 0; i < 4; i++) h = (h ^ ip[iphl + i]) * 16777619u;
  return h | 1;
}
bool same_flow(const uint8_t* a, const uint8_t* b, int v, size_t iphl) {
  if ((a[0] >> 4) != v) return false;
  if (v == 4 ? memcmp(a + 12, b + 12, 8) != 0 : memcmp(a + 8, b + 8, 32) != 0) return false;
  return memcmp(a + iphl, b + iphl, 4) == 0;
}
}  // namespace

bool Gro::add(uint8_t* ip, size_t len, size_t cap) {
  if (n_ == kMaxItems) return false;
  Item& it = items_[n_];
  it = Item{ip, uint32_t(len), uint32_t(cap), 0, 0, 0, 1, 0, 0, false};
  // Only plain headers take part (IPv4 without options or fragments, IPv6 without extension
  // headers): everything else is written as it came.
  const int v = len ? ip[0] >> 4 : 0;
  size_t iphl = 0;
  if (v == 4 && len >= 40 && ip[0] == 0x45 && ip[9] == 6 && !(rd16(ip + 6) & 0x3fff) && rd16(ip + 2) == len)
    iphl = 20;
  else if (v == 6 && len >= 60 && ip[6] == 6 && size_t(rd16(ip + 4)) + 40 == len)
    iphl = 40;
  if (!iphl) {
    n_++;
    return true;
  }
  const uint8_t* tcp = ip + iphl;
  const size_t doff = size_t(tcp[12] >> 4) * 4;
  const size_t hl = iphl + doff;
  if (doff < 20 || hl > len) {
    n_++;
    return true;
  }
  const uint8_t fl = tcp[13];
  const size_t payload = len - hl;
  const bool mergeable =
      payload > 0 && payload <= 0xffff && (fl & kTcpAck) && !(fl & uint8_t(~(kTcpAck | kTcpPsh))) &&
      tcp_csum_ok(ip, len, iphl);
  const uint32_t flow = flow_hash(ip, v, iphl);
  // Join only the latest packet of the flow: merging past a later one would reorder them.
  for (int j = n_ - 1; j >= 0; j--) {
    Item& o = items_[j];
    if (o.flow != flow || o.iphl != iphl || !same_flow(o.ip, ip, v, iphl)) continue;
    if (mergeable && try_merge(o, ip, len, hl)) {
      merged_++;
      return true;
    }
    break;
  }
  it.flow = flow;
  it.iphl = uint8_t(iphl);
  it.hl = uint8_t(hl);
  it.next_seq = rd32(tcp + 4) + uint32_t(payload);
  it.gso = uint16_t(payload);
  it.open = mergeable && !(fl & kTcpPsh);
  n_++;
  return true;
}

bool Gro::try_merge(Item& it, uint8_t* ip, size_t len, size_t hl) {
  if (!it.open || it.hl != hl || it.nseg == 0xffff) return false;
  uint8_t* a = it.ip;
  const size_t iphl = it.iphl;
  if (iphl == 20) {
    if (a[1] != ip[1] || a[8] != ip[8] || ((a[6] ^ ip[6]) & 0x40)) return false;  // TOS, TTL, DF
  } else if (memcmp(a, ip, 4) != 0 || a[7] != ip[7]) {
    return false;  // traffic class, flow label, hop limit
  }
  uint8_t* ta = a + iphl;
  const uint8_t* tb = ip + iphl;
  if (rd32(tb + 4) != it.next_seq || memcmp(ta + 8, tb + 8, 4) != 0 || memcmp(ta + 20, tb + 20, hl - iphl - 20) != 0)
    return false;
  const size_t payload = len - hl;
  const size_t nl = size_t(it.len) + payload;
  if (payload > it.gso || nl > it.cap || nl - (iphl == 20 ? 0 : 40) > 0xffff) return false;
  memcpy(a + it.len, ip + hl, payload);
  it.len = uint32_t(nl);
  it.nseg++;
  it.next_seq += uint32_t(payload);
  memcpy(ta + 14, tb + 14, 2);  // the newest window advertisement
  if (tb[13] & kTcpPsh) {
    ta[13] |= kTcpPsh;
    it.open = false;
  }
  if (payload < it.gso) it.open = false;
  return true;
}

void Gro::finish(int i, VnetHdr* h) {
  *h = VnetHdr{};
  Item& it = items_[i];
  if (it.nseg < 2) return;
  uint8_t* ip = it.ip;
  const int v = ip[0] >> 4;
  if (v == 4) {
    wr16(ip + 2, uint16_t(it.len));
    wr16(ip + 10, 0);
    wr16(ip + 10, csum_fold(csum_add(0, ip, 20)));
  } else {
    wr16(ip + 4, uint16_t(it.len - 40));
  }
  // NEEDS_CSUM: the field holds the (uninverted) pseudo-header sum over the whole TCP length;
  // the kernel adjusts it per segment when it segments, as for any CHECKSUM_PARTIAL packet.
  const uint32_t l4len = it.len - it.iphl;
  wr16(ip + it.iphl + 16, uint16_t(~csum_fold(addr_sum(ip, v) + 6 + l4len)));
  h->flags = kVnetNeedsCsum;
  h->gso_type = v == 4 ? kGsoTcp4 : kGsoTcp6;
  h->hdr_len = it.hl;
  h->gso_size = it.gso;
  h->csum_start = it.iphl;
  h->csum_offset = 16;
}

}  // namespace gredge
