// The data plane's shared state: tunnels (immutable objects swapped RCU-style per index), the
// decap index (outer source, key) → tunnel (an immutable hash snapshot swapped on change), the
// per-index runtime state (sequence numbers, keepalive liveness) and the counter layout that JS
// reads from a shared buffer. Written by the control (JS) thread, read lock-free by workers.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "epoch.h"
#include "lpm.h"
#include "nexthop.h"

namespace gredge {

constexpr uint32_t kMaxTunnels = 16384;

// Drop reasons, in the order JS names them (src/dataplane/counters.ts mirrors this list).
enum Drop : uint32_t {
  kDropShort,
  kDropBadFlags,
  kDropBadChecksum,
  kDropUnknownSource,
  kDropUnknownKey,
  kDropSequence,
  kDropSpoofed,
  kDropNotIp,
  kDropTooBig,
  kDropNoRoute,
  kDropTunnelDown,
  kDropTunWrite,
  kDropSend,
  kDropBadOffload,  // a TUN super-packet or partial checksum we cannot segment/complete
  kDropCount
};
// Global counters: drops [0, kDropCount), then these.
enum GlobalCounter : uint32_t {
  kGRxPackets = 16,
  kGRxBytes,
  kGTxPackets,
  kGTxBytes,
  kGKeepaliveReflected,
  kGKeepaliveRx,
  kGKeepaliveTx,
  kGPtbSent,
  kGMssClamped,
  kGTunReads,
  kGTunWrites,
  kGSendCalls,
  kGRecvCalls,
  kGTsoSegments,  // wire packets cut from TUN super-packets
  kGGroMerged,    // received segments merged into another before the TUN write
  kGCsumDone,     // partial checksums completed
  kGDirectTx,     // packets sent through the AF_PACKET socket (direct transmit, nexthop.h)
  // TUN reads to link-scope multicast (gre.h link_scope_multicast): the host's own MLD, IGMP,
  // router solicitations toward the TUN. Never forwarded; not a drop reason, because nothing
  // is wrong with them — a router just keeps them on the link.
  kGLinkLocalMcast,
  kGlobalSlots = 48
};
// Per-tunnel counters: these four, then drops at kTDropBase + reason, then extras.
enum TunnelCounter : uint32_t {
  kTRxPackets,
  kTRxBytes,
  kTTxPackets,
  kTTxBytes,
  kTDropBase = 4,
  kTKeepaliveRx = kTDropBase + kDropCount,
  kTKeepaliveTx,
  kTKeepaliveReflected,
  kTPtbSent,
  kTMssClamped,
  kTunnelSlots = 24
};
static_assert(uint32_t(kDropCount) <= uint32_t(kGRxPackets) && kGLinkLocalMcast < kGlobalSlots &&
                  kTMssClamped < kTunnelSlots,
              "counter layout overflow");
// One slice per worker (plus one for the keepalive thread), each written by one thread only.
constexpr size_t kSliceSlots = kGlobalSlots + size_t(kMaxTunnels) * kTunnelSlots;

struct CounterSlice {
  uint64_t* base;
  void add(uint32_t i, uint64_t v) {
    // Single writer per slice: a relaxed load+store is enough and avoids a locked RMW. JS reads
    // aligned 64-bit words, which x86-64 and arm64 load atomically.
    auto* a = reinterpret_cast<std::atomic<uint64_t>*>(base + i);
    a->store(a->load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
  void drop(uint32_t reason) { add(reason, 1); }
  void tunnel(uint32_t idx, uint32_t i, uint64_t v) { add(kGlobalSlots + idx * kTunnelSlots + i, v); }
  void tunnel_drop(uint32_t idx, uint32_t reason) {
    drop(reason);
    tunnel(idx, kTDropBase + reason, 1);
  }
};

struct Prefix {
  uint8_t family;  // 4 or 6
  uint8_t len;
  uint8_t addr[16];
};
bool prefix_contains(const Prefix& p, const uint8_t* addr, int family);

struct Tunnel {
  uint32_t idx = 0;
  std::string name;
  int family = 4;  // underlay family
  uint8_t remote[16] = {};
  uint8_t local[16] = {};
  uint32_t remote4 = 0, local4 = 0;  // host order, IPv4 underlay
  sockaddr_storage remote_sa{};
  socklen_t remote_sa_len = 0;
  uint32_t key = 0;
  uint32_t mtu = 1472;
  bool seq = false, csum = false, mss_clamp = true;
  std::vector<Prefix> allowed;
  bool has_inner4 = false, has_inner6 = false;
  uint8_t inner4[4] = {}, inner6[16] = {};  // ICMP Packet Too Big sources
  uint32_t ka_interval_ms = 0, ka_retries = 0;
  // Set by Tables::add: unique per published object, so that a thread keeping per-tunnel state
  // (the keepalive schedule) tells a new tunnel from an old one even when the allocator hands
  // out the freed object's address again.
  uint64_t gen = 0;
};

struct TunnelState {
  std::atomic<uint32_t> tx_seq{0};
  std::atomic<uint32_t> rx_seq{0};
  std::atomic<bool> rx_seq_valid{false};
  std::atomic<bool> up{true};
  std::atomic<uint64_t> ka_rx{0};  // replies seen; the keepalive thread compares snapshots
  void reset() {
    tx_seq = 0;
    rx_seq = 0;
    rx_seq_valid = false;
    up = true;
    ka_rx = 0;
  }
};

// Open-addressing index with per-slot atomics: one writer inserts (idx then hash, release) or
// tombstones; readers probe without locks and verify the tunnel they find. When tombstones pile
// up the writer builds a fresh index and swaps the pointer (retired through the epoch).
struct DecapIndex {
  static constexpr uint64_t kEmpty = 0, kTomb = 1;
  static constexpr size_t kSlots = size_t(kMaxTunnels) * 4;
  struct Slot {
    std::atomic<uint64_t> h{kEmpty};
    std::atomic<uint32_t> idx{0};
  };
  Slot slots[kSlots];
  size_t used = 0, tombs = 0;  // writer only
  static uint64_t hash(int family, const uint8_t* src, bool any_key, uint32_t key);
  uint32_t find(uint64_t h) const {
    for (size_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
      uint64_t v = slots[i].h.load(std::memory_order_acquire);
      if (v == h) return slots[i].idx.load(std::memory_order_relaxed);
      if (v == kEmpty) return kNoRoute;
    }
  }
  void insert(uint64_t h, uint32_t idx);
  bool erase(uint64_t h);
};

class Tables {
 public:
  Tables();
  ~Tables();
  Epoch epoch;
  Lpm4 lpm4;
  Lpm6 lpm6;
  std::atomic<Tunnel*> tunnels[kMaxTunnels] = {};
  TunnelState state[kMaxTunnels];
  std::atomic<DecapIndex*> decap{nullptr};
  // Direct-transmit paths per tunnel index, written by the paths thread only. A path is
  // used only while it serves() the tunnel found at that index (tunnels can be replaced).
  std::atomic<const L2Path*> l2[kMaxTunnels] = {};

  // Reader side.
  const Tunnel* tunnel(uint32_t idx) const {
    return idx < kMaxTunnels ? tunnels[idx].load(std::memory_order_acquire) : nullptr;
  }
  // Finds the tunnel of a decapsulated packet; on a miss sets *reason to unknown source/key.
  const Tunnel* decap_lookup(int family, const uint8_t* src, bool key_present, uint32_t key, uint32_t* reason) const;

  // Control side (one thread). Return an error message or "".
  std::string add(Tunnel* t, bool replace);  // takes ownership; t->idx chosen by add when !replace
  std::string remove(uint32_t idx);
  uint32_t count() const { return count_; }

 private:
  void decap_insert(uint64_t h, uint32_t idx);
  void decap_erase(uint64_t h);
  // Removed tunnels' indices: reusable once no reader can still hold the old tunnel (or its
  // index, read from the LPM). Taken and retired on the control thread only, like the LPM's
  // groups and nodes; the epoch's clean-ups only free memory.
  IdRecycler free_idx_;
  std::vector<std::pair<uint64_t, uint32_t>> src_refs_;  // (source-only hash, tunnels using it)
  uint32_t next_idx_ = 0;
  uint32_t count_ = 0;
  uint64_t next_gen_ = 1;
};

}  // namespace gredge
