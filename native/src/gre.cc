// Pure packet logic: GRE RFC 2784 §2 / RFC 2890 §2, checksums RFC 1071/1624, MSS clamping,
// ICMP Fragmentation Needed (RFC 792, RFC 1191 §4) and ICMPv6 Packet Too Big (RFC 4443 §3.2),
// Cisco-style GRE keepalives. See gre.h for the contract of each function.
#include "gre.h"

#include "nexthop.h"

#include <cstring>

namespace gredge {

uint32_t csum_add(uint32_t sum, const uint8_t* p, size_t n) {
  // RFC 1071 §2(B): the one's-complement sum is byte-order independent, so sum host-order
  // (little-endian) 32-bit halves of 64-bit loads and swap once at the end. This runs over
  // every byte of every segment we build or coalesce, so it has to be fast.
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "csum_add assumes a little-endian host");
  uint64_t s0 = 0, s1 = 0;
  while (n >= 32) {
    uint64_t a, b, c, d;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    memcpy(&c, p + 16, 8);
    memcpy(&d, p + 24, 8);
    s0 += (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32);
    s1 += (c & 0xffffffffu) + (c >> 32) + (d & 0xffffffffu) + (d >> 32);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t a;
    memcpy(&a, p, 8);
    s0 += (a & 0xffffffffu) + (a >> 32);
    p += 8;
    n -= 8;
  }
  while (n >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    s1 += w;
    p += 2;
    n -= 2;
  }
  if (n) s1 += p[0];  // a trailing odd byte is the high byte of its big-endian word
  uint64_t s = s0 + s1;  // no overflow: < 2^47 for any packet
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  uint64_t r = uint64_t(sum) + __builtin_bswap16(uint16_t(s));
  while (r >> 32) r = (r & 0xffffffffu) + (r >> 32);
  return uint32_t(r);
}

uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t csum_update16(uint16_t check, uint16_t old_w, uint16_t new_w) {
  uint32_t s = uint16_t(~check);
  s += uint16_t(~old_w);
  s += new_w;
  return csum_fold(s);
}

size_t gre_header_len(bool csum, bool key, bool seq) { return 4 + (csum ? 4 : 0) + (key ? 4 : 0) + (seq ? 4 : 0); }

GreStatus gre_parse(const uint8_t* p, size_t n, GreHeader* out) {
  if (n < 4) return GreStatus::kShort;
  const uint16_t flags = rd16(p);
  // Only C, K, S may be set; R, s, recursion, flags and version must be zero (RFC 2784 §2.5,
  // RFC 2890 §2). Version 1 is PPTP's enhanced GRE, which we do not carry.
  if (flags & ~(kGreFlagC | kGreFlagK | kGreFlagS)) return GreStatus::kBadFlags;
  out->csum = flags & kGreFlagC;
  out->key_present = flags & kGreFlagK;
  out->seq_present = flags & kGreFlagS;
  out->proto = rd16(p + 2);
  size_t off = 4;
  out->len = gre_header_len(out->csum, out->key_present, out->seq_present);
  if (n < out->len) return GreStatus::kShort;
  if (out->csum) {
    // The checksum covers the GRE header and payload (RFC 2784 §2.2); summing over a correct
    // packet including its checksum field gives 0xffff.
    if (csum_fold(csum_add(0, p, n)) != 0) return GreStatus::kBadChecksum;
    off += 4;
  }
  if (out->key_present) {
    out->key = rd32(p + off);
    off += 4;
  } else {
    out->key = 0;
  }
  out->seq = out->seq_present ? rd32(p + off) : 0;
  return GreStatus::kOk;
}

size_t gre_build(uint8_t* out, uint16_t proto, bool csum, bool key_present, uint32_t key, bool seq_present,
                 uint32_t seq, size_t total) {
  uint16_t flags = (csum ? kGreFlagC : 0) | (key_present ? kGreFlagK : 0) | (seq_present ? kGreFlagS : 0);
  wr16(out, flags);
  wr16(out + 2, proto);
  size_t off = 4;
  if (csum) {
    wr32(out + 4, 0);
    off += 4;
  }
  if (key_present) {
    wr32(out + off, key);
    off += 4;
  }
  if (seq_present) {
    wr32(out + off, seq);
    off += 4;
  }
  if (csum) wr16(out + 4, csum_fold(csum_add(0, out, total)));
  return off;
}

bool ip_header_ok(const uint8_t* p, size_t n) {
  if (n < 1) return false;
  if ((p[0] >> 4) == 4) {
    if (n < 20) return false;
    size_t ihl = size_t(p[0] & 0xf) * 4;
    if (ihl < 20 || ihl > n) return false;
    size_t tot = rd16(p + 2);
    return tot >= ihl && tot <= n;
  }
  if ((p[0] >> 4) == 6) {
    if (n < 40) return false;
    return size_t(rd16(p + 4)) + 40 <= n;
  }
  return false;
}

// Finds the TCP header of ip[0..n); returns its offset or 0. Skips the IPv6 extension headers
// that may precede TCP in a SYN (hop-by-hop, routing, destination options); fragments are left
// alone, as a clamp of a non-first fragment is impossible.
size_t tcp_offset(const uint8_t* ip, size_t n) {
  if (!ip_header_ok(ip, n)) return 0;
  if ((ip[0] >> 4) == 4) {
    if (ip[9] != 6) return 0;
    if (rd16(ip + 6) & 0x3fff) return 0;  // MF or fragment offset
    return size_t(ip[0] & 0xf) * 4;
  }
  uint8_t nh = ip[6];
  size_t off = 40;
  for (int i = 0; i < 8; i++) {
    if (nh == 6) return off;
    if (nh != 0 && nh != 43 && nh != 60) return 0;
    if (off + 8 > n) return 0;
    nh = ip[off];
    off += (size_t(ip[off + 1]) + 1) * 8;
  }
  return 0;
}

bool mss_clamp(uint8_t* ip, size_t n, uint16_t mss, bool csum_partial) {
  size_t t = tcp_offset(ip, n);
  if (!t || t + 20 > n) return false;
  uint8_t* tcp = ip + t;
  if (!(tcp[13] & 0x02)) return false;  // SYN only (SYN and SYN-ACK)
  size_t doff = size_t(tcp[12] >> 4) * 4;
  if (doff < 20 || t + doff > n) return false;
  size_t i = 20;
  while (i < doff) {
    uint8_t kind = tcp[i];
    if (kind == 0) break;
    if (kind == 1) {
      i++;
      continue;
    }
    if (i + 1 >= doff) break;
    uint8_t len = tcp[i + 1];
    if (len < 2 || i + len > doff) break;
    if (kind == 2 && len == 4) {
      uint16_t cur = rd16(tcp + i + 2);
      if (cur <= mss) return false;
      // The option may sit at an odd offset; the checksum is over 16-bit words from the start of
      // the TCP header, so update it word-wise over the two (possibly straddling) words.
      if (!csum_partial) {
        uint16_t check = rd16(tcp + 16);
        if ((i + 2) % 2 == 0) {
          check = csum_update16(check, cur, mss);
          wr16(tcp + i + 2, mss);
        } else {
          size_t w = i + 1;  // even offset of the first word containing the MSS high byte
          uint16_t o1 = rd16(tcp + w), o2 = rd16(tcp + w + 2);
          wr16(tcp + i + 2, mss);
          check = csum_update16(check, o1, rd16(tcp + w));
          check = csum_update16(check, o2, rd16(tcp + w + 2));
        }
        wr16(tcp + 16, check);
      } else {
        wr16(tcp + i + 2, mss);
      }
      return true;
    }
    i += len;
  }
  return false;
}

static bool is_icmp_error_or_unanswerable(const uint8_t* ip, size_t n) {
  if ((ip[0] >> 4) == 4) {
    // Only answer the first fragment, never ICMP errors, never broadcast/multicast/unspecified.
    if (rd16(ip + 6) & 0x1fff) return true;
    uint8_t d0 = ip[16];
    if (d0 >= 224 || rd32(ip + 12) == 0) return true;
    size_t ihl = size_t(ip[0] & 0xf) * 4;
    if (ip[9] == 1 && n > ihl) {
      uint8_t type = ip[ihl];
      if (type != 0 && type != 8 && type != 13 && type != 14) return true;
    }
    return false;
  }
  if (ip[24] == 0xff) return true;  // multicast destination
  static const uint8_t zero[16] = {};
  if (memcmp(ip + 8, zero, 16) == 0) return true;
  if (ip[6] == 58 && n > 40 && ip[40] < 128) return true;  // ICMPv6 error
  return false;
}

size_t build_ptb(const uint8_t* orig, size_t n, uint32_t mtu, const uint8_t* src, uint8_t* out, size_t cap) {
  if (!ip_header_ok(orig, n) || is_icmp_error_or_unanswerable(orig, n)) return 0;
  if ((orig[0] >> 4) == 4) {
    // RFC 1812 §4.3.2.3: quote as much as fits in 576 bytes.
    size_t quote = n;
    if (quote > 576 - 28) quote = 576 - 28;
    size_t len = 28 + quote;
    if (len > cap) return 0;
    memset(out, 0, 28);
    out[0] = 0x45;
    wr16(out + 2, uint16_t(len));
    out[8] = 64;
    out[9] = 1;
    memcpy(out + 12, src, 4);
    memcpy(out + 16, orig + 12, 4);  // back to the original source
    wr16(out + 10, csum_fold(csum_add(0, out, 20)));
    uint8_t* ic = out + 20;
    ic[0] = 3;
    ic[1] = 4;
    wr16(ic + 6, uint16_t(mtu > 0xffff ? 0xffff : mtu));
    memcpy(ic + 8, orig, quote);
    wr16(ic + 2, csum_fold(csum_add(0, ic, 8 + quote)));
    return len;
  }
  // RFC 4443 §2.4(c): as much as fits without exceeding the minimum IPv6 MTU (1280).
  size_t quote = n;
  if (quote > 1280 - 48) quote = 1280 - 48;
  size_t len = 48 + quote;
  if (len > cap) return 0;
  memset(out, 0, 48);
  out[0] = 0x60;
  wr16(out + 4, uint16_t(8 + quote));
  out[6] = 58;
  out[7] = 64;
  memcpy(out + 8, src, 16);
  memcpy(out + 24, orig + 8, 16);
  uint8_t* ic = out + 40;
  ic[0] = 2;
  wr32(ic + 4, mtu < 1280 ? 1280 : mtu);
  memcpy(ic + 8, orig, quote);
  // Pseudo-header (RFC 8200 §8.1): src, dst, upper-layer length, next header.
  uint32_t s = csum_add(0, out + 8, 32);
  s += uint32_t(8 + quote);
  s += 58;
  s = csum_add(s, ic, 8 + quote);
  wr16(ic + 2, csum_fold(s));
  return len;
}

size_t keepalive_request_payload(const uint8_t* ip, size_t n, uint32_t local, uint32_t remote) {
  if (!ip_header_ok(ip, n) || (ip[0] >> 4) != 4 || ip[9] != kProtoGre) return 0;
  // Only reflect toward the tunnel's own far end, from our own address: anything else would make
  // us a reflector that sends GRE wherever a forged inner header says.
  if (rd32(ip + 12) != local || rd32(ip + 16) != remote) return 0;
  size_t ihl = size_t(ip[0] & 0xf) * 4;
  if (rd16(ip + 2) < ihl + 4) return 0;
  return ihl;
}

size_t build_keepalive(uint8_t* out, size_t cap, uint32_t local, uint32_t remote, bool key_present, uint32_t key) {
  size_t g = gre_header_len(false, key_present, false);
  size_t total = g + 20 + g;
  if (total > cap) return 0;
  gre_build(out, kEthIPv4, false, key_present, key, false, 0, total);
  uint8_t* ip = out + g;
  memset(ip, 0, 20);
  ip[0] = 0x45;
  wr16(ip + 2, uint16_t(20 + g));
  ip[8] = 255;
  ip[9] = kProtoGre;
  wr32(ip + 12, remote);
  wr32(ip + 16, local);
  wr16(ip + 10, csum_fold(csum_add(0, ip, 20)));
  gre_build(ip + 20, 0, false, key_present, key, false, 0, g);
  return total;
}

uint8_t* push_outer(const L2Path& path, uint8_t* gre, size_t len, uint32_t flow) {
  uint8_t* ip;
  if (path.family == 4) {
    ip = gre - 20;
    ip[0] = 0x45;
    ip[1] = 0;
    wr16(ip + 2, uint16_t(len + 20));
    wr16(ip + 4, 0);
    wr16(ip + 6, 0x4000);  // DF
    ip[8] = path.hop_limit;
    ip[9] = kProtoGre;
    wr16(ip + 10, 0);
    memcpy(ip + 12, path.src, 4);
    memcpy(ip + 16, path.remote, 4);
    wr16(ip + 10, csum_fold(csum_add(0, ip, 20)));
  } else {
    ip = gre - 40;
    wr32(ip, 0x60000000u | (flow & 0xfffff));
    wr16(ip + 4, uint16_t(len));
    ip[6] = kProtoGre;
    ip[7] = path.hop_limit;
    memcpy(ip + 8, path.src, 16);
    memcpy(ip + 24, path.remote, 16);
  }
  uint8_t* eth = ip - 14;
  memcpy(eth, path.eth, 14);
  return eth;
}

uint32_t inner_flow_label(const uint8_t* ip, size_t n) {
  uint32_t h = 2166136261u;
  auto mix = [&h](const uint8_t* p, size_t k) {
    for (size_t i = 0; i < k; i++) h = (h ^ p[i]) * 16777619u;
  };
  size_t l4;
  uint8_t proto;
  if (ip_version(ip, n) == 4 && n >= 20) {
    mix(ip + 12, 8);
    proto = ip[9];
    l4 = size_t(ip[0] & 0xf) * 4;
    if (rd16(ip + 6) & 0x1fff) l4 = 0;  // a non-first fragment has no ports
  } else if (ip_version(ip, n) == 6 && n >= 40) {
    mix(ip + 8, 32);
    proto = ip[6];
    l4 = 40;
  } else {
    return 0;
  }
  mix(&proto, 1);
  if (l4 && (proto == 6 || proto == 17) && n >= l4 + 4) mix(ip + l4, 4);
  h ^= h >> 20;
  h &= 0xfffff;
  return h ? h : 1;  // 0 would mean "no label"
}

}  // namespace gredge
