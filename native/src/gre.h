// Pure packet logic of the data plane: GRE (RFC 2784, RFC 2890) parse/build, Internet
// checksums (RFC 1071, incremental RFC 1624), TCP MSS clamping, ICMP/ICMPv6 Packet Too Big
// (RFC 792/1191, RFC 4443 §3.2), Cisco-style GRE keepalives. No sockets, no threads: bytes in,
// bytes out, so that every function can be tested through the debug binding.
#pragma once
#include <cstddef>
#include <cstdint>

namespace gredge {

constexpr uint16_t kGreFlagC = 0x8000;
constexpr uint16_t kGreFlagK = 0x2000;
constexpr uint16_t kGreFlagS = 0x1000;
constexpr uint16_t kEthIPv4 = 0x0800;
constexpr uint16_t kEthIPv6 = 0x86DD;
constexpr uint8_t kProtoGre = 47;

struct GreHeader {
  bool csum = false;
  bool key_present = false;
  bool seq_present = false;
  uint16_t proto = 0;
  uint32_t key = 0;
  uint32_t seq = 0;
  size_t len = 0;  // header length in bytes
};

enum class GreStatus { kOk, kShort, kBadFlags, kBadChecksum };

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline void wr16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void wr32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// One's-complement sum of n bytes added to `sum` (not folded, not inverted).
uint32_t csum_add(uint32_t sum, const uint8_t* p, size_t n);
uint16_t csum_fold(uint32_t sum);  // folds and inverts: the value to put in a header
// RFC 1624 eqn 3: new checksum after a 16-bit word changed from `old_w` to `new_w`.
uint16_t csum_update16(uint16_t check, uint16_t old_w, uint16_t new_w);

// Parses (and verifies the checksum of, when present) a GRE header at p[0..n).
// kBadFlags: version != 0 or a reserved/RFC 1701 bit (routing, strict source route, recursion)
// is set (RFC 2784 §2.5: such packets MUST be discarded).
GreStatus gre_parse(const uint8_t* p, size_t n, GreHeader* out);
size_t gre_header_len(bool csum, bool key, bool seq);
// Writes a GRE header; when `csum`, the payload must already follow the header in `out` and
// `total` is header + payload length so that the checksum can be computed.
size_t gre_build(uint8_t* out, uint16_t proto, bool csum, bool key_present, uint32_t key, bool seq_present,
                 uint32_t seq, size_t total);

// RFC 2890 §2.2: a packet is in order when its sequence number is "greater" than the last one
// accepted in serial-number arithmetic (RFC 1982).
inline bool seq_after(uint32_t seq, uint32_t last) { return static_cast<int32_t>(seq - last) > 0; }

// Clamps the MSS option of a TCP SYN in the IPv4 or IPv6 packet ip[0..n) to at most `mss`,
// fixing the TCP checksum incrementally. Returns true if the packet was changed.
// When `csum_partial` the TCP checksum field holds a pseudo-header sum still to be completed
// by the kernel/NIC (virtio NEEDS_CSUM), so it is left alone.
bool mss_clamp(uint8_t* ip, size_t n, uint16_t mss, bool csum_partial = false);

// Builds an ICMPv4 Destination Unreachable / Fragmentation Needed (type 3 code 4, RFC 1191) or
// an ICMPv6 Packet Too Big (RFC 4443 §3.2) answering the packet orig[0..n), from `src`
// (4 or 16 bytes). Returns the length written into out (0 if orig is not an answerable IP
// packet: ICMP errors are never answered with ICMP errors, RFC 1812 §4.3.2.7).
size_t build_ptb(const uint8_t* orig, size_t n, uint32_t mtu, const uint8_t* src, uint8_t* out, size_t cap);

// Cisco keepalive (IPv4 underlay only). A request from the far end arrives as GRE carrying an
// IPv4 packet whose source is our underlay address and destination the far end's, protocol 47:
// we send its payload (a GRE header) back to the far end. Returns the offset of that GRE payload
// inside ip[0..n) or 0 if this is not a keepalive addressed from `local` to `remote`.
size_t keepalive_request_payload(const uint8_t* ip, size_t n, uint32_t local, uint32_t remote);
// Builds the GRE payload of a keepalive we originate toward `remote` (host order addresses):
// outer GRE (proto IPv4, key) + inner IPv4 (remote → local, proto 47) + inner GRE (proto 0, key).
size_t build_keepalive(uint8_t* out, size_t cap, uint32_t local, uint32_t remote, bool key_present,
                       uint32_t key);

// Offset of the TCP header in ip[0..n), or 0 when it is not TCP (or a fragment); skips the IPv6
// extension headers a SYN may carry.
size_t tcp_offset(const uint8_t* ip, size_t n);

// IP helpers over raw packets (no alignment assumptions).
// Direct transmit (nexthop.h): writes the outer IP header and the Ethernet header in front of
// the GRE packet at `gre` (len bytes) and returns the frame start, 14 + 20 (IPv4) or 14 + 40
// (IPv6) bytes earlier; the caller leaves that much headroom. IPv4 as the kernel's raw socket
// path sends it: DF set, ID 0 (RFC 6864 atomic datagrams), TOS 0. IPv6: `flow` is the flow
// label (RFC 6438: from the inner flow, so that underlay ECMP spreads tunnel traffic).
uint8_t* push_outer(const struct L2Path& path, uint8_t* gre, size_t len, uint32_t flow);
// A 20-bit hash of an inner packet's addresses, protocol and ports (0 when it is not IP).
uint32_t inner_flow_label(const uint8_t* ip, size_t n);

inline int ip_version(const uint8_t* p, size_t n) { return n ? p[0] >> 4 : 0; }
// Whether the destination of an IPv4 (v 4, at least 20 bytes) or IPv6 (v 6, at least 40 bytes)
// packet is multicast of link-local scope or narrower, which a router never forwards off the
// link, so never into a tunnel:
//   IPv6 multicast (ff00::/8, first byte 0xff) whose scope — the low 4 bits of the second byte,
//   after the flags — is 0 (reserved: a packet to it "must be silently dropped"), 1
//   (interface-local: "useful only for loopback transmission") or 2 (link-local), whatever the
//   flags (transient, prefix-based, embedded-RP): RFC 4291 §2.7, RFC 7346 §2;
//   IPv4 224.0.0.0/24, the Local Network Control Block, "not forwarded off link" (RFC 5771 §4).
// On the TUN these are the host's own link traffic (MLD reports to ff02::16, router
// solicitations, IGMP to 224.0.0.22), which the kernel sends on any interface that is up.
// Realm-local (3) and wider scopes, and the rest of 224/4, are routed like unicast.
inline bool link_scope_multicast(const uint8_t* p, int v) {
  if (v == 4) return p[16] == 224 && p[17] == 0 && p[18] == 0;
  return p[24] == 0xff && (p[25] & 0x0f) <= 2;
}
// Returns false if ip[0..n) is not a well-formed IPv4/IPv6 header of the claimed version.
bool ip_header_ok(const uint8_t* p, size_t n);

}  // namespace gredge
