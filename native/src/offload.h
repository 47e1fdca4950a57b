// TUN offloads (IFF_VNET_HDR): the virtio_net_hdr that prefixes every TUN read and write
// (virtio spec v1.1 §5.1.6), TCP segmentation of the super-packets the kernel hands us with
// TSO on (what a NIC would do: RFC 9293 §3.1 header rules per segment), completion of partial
// checksums (RFC 1071), and coalescing of in-order TCP segments into one super-packet for a
// single TUN write (GRO). Pure functions on bytes: no sockets, tested through the debug binding.
#pragma once
#include <cstddef>
#include <cstdint>

namespace gredge {

constexpr size_t kVnetHdrLen = 12;  // struct virtio_net_hdr_v1 (TUNSETVNETHDRSZ 12)
constexpr uint8_t kVnetNeedsCsum = 1;
constexpr uint8_t kGsoNone = 0, kGsoTcp4 = 1, kGsoTcp6 = 4, kGsoEcn = 0x80;
// TUNSETOFFLOAD bits (linux/if_tun.h).
constexpr unsigned kTunFCsum = 0x01, kTunFTso4 = 0x02, kTunFTso6 = 0x04, kTunFTsoEcn = 0x08;

struct VnetHdr {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0, gso_size = 0, csum_start = 0, csum_offset = 0;
};
// TUN uses the host's byte order for the header (little endian on every host we build for).
void vnet_decode(const uint8_t* p, VnetHdr* h);
void vnet_encode(const VnetHdr& h, uint8_t* p);

// VIRTIO_NET_HDR_F_NEEDS_CSUM on a non-GSO packet: the field at start+offset holds the
// pseudo-header sum; sum [start, n) and store the final checksum. False if out of range.
bool csum_complete(uint8_t* pkt, size_t n, size_t start, size_t offset);

// True when the TCP checksum of ip[0..n) (TCP header at l4) is right: pseudo-header of
// RFC 9293 §3.1 (IPv4) or RFC 8200 §8.1 (IPv6) plus segment sums to all ones.
bool tcp_csum_ok(const uint8_t* ip, size_t n, size_t l4);

// A TCP super-packet split into segments of at most `gso` payload bytes.
struct TsoPlan {
  int v = 4;
  size_t iphl = 0;   // IP header length, IPv6 extension headers included
  size_t hl = 0;     // IP + TCP header length
  size_t payload = 0;
  size_t gso = 0;
  uint32_t nseg = 0;
  uint32_t seq0 = 0;
  uint16_t id0 = 0;
  uint32_t addr_sum = 0;  // pseudo-header address words, summed once
};
// Validates the super-packet pkt[0..n) against its header; false if it cannot be segmented.
bool tso_plan(const uint8_t* pkt, size_t n, const VnetHdr& h, TsoPlan* p);
// Writes segment i (0..nseg) to out (room for hl + gso bytes); returns its length. IPv4 ids
// count up from the original's, sequence numbers advance by the payload, FIN and PSH stay on
// the last segment only and CWR on the first (as Linux's tcp_gso_segment does), and every
// checksum is complete: GRE peers see wire packets, not offload metadata.
size_t tso_segment(const uint8_t* pkt, const TsoPlan& p, uint32_t i, uint8_t* out);

// Coalesces the packets bound for the TUN from one receive batch. Packets are added in
// arrival order and written in that order; a TCP segment joins the latest earlier packet of its
// flow when it continues it exactly (same headers but length/ids/checksum, next sequence
// number, no flags but ACK/PSH, payload not longer than the first). Segments whose TCP checksum
// is wrong are never merged: the merged packet gets a fresh checksum, which would hide them.
class Gro {
 public:
  static constexpr int kMaxItems = 128;
  struct Item {
    uint8_t* ip;
    uint32_t len;
    uint32_t cap;  // bytes available at ip (the merged packet grows in place)
    uint32_t flow;  // hash of addresses and ports, 0 for non-TCP
    uint32_t next_seq;
    uint16_t gso;
    uint16_t nseg;
    uint8_t iphl, hl;
    bool open;  // may take another segment
  };
  void reset() { n_ = 0; }
  // False when full (the caller flushes first). `cap` >= len.
  bool add(uint8_t* ip, size_t len, size_t cap);
  int size() const { return n_; }
  const Item& item(int i) const { return items_[i]; }
  // Fixes lengths and checksums of item i and fills its vnet header (all zero when single).
  void finish(int i, VnetHdr* h);
  uint64_t merged() const { return merged_; }

 private:
  bool try_merge(Item& it, uint8_t* ip, size_t len, size_t hl);
  Item items_[kMaxItems];
  int n_ = 0;
  uint64_t merged_ = 0;
};

}  // namespace gredge
