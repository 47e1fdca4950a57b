// Longest-prefix-match tables from inner destination to tunnel index, written by one control
// thread while packet workers read them without locks (per-entry atomics; tbl8 groups are
// reused only after an epoch grace period).
//   IPv4: DIR-24-8 (Gupta, Lin, McKeown 1998): 2^24 first-level entries + 256-entry groups for
//         prefixes longer than /24. Lookup is one or two loads.
//   IPv6: a 4-bit-stride multibit trie with controlled prefix expansion; a node is 16 entries of
//         (child, best leaf), so a sparse table stays small.
// An update touches only the entries its prefix covers; nothing is rebuilt per route.
#pragma once
#include <atomic>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "epoch.h"
#include "route_map.h"

namespace gredge {

constexpr uint32_t kNoRoute = 0xffffffff;
constexpr uint32_t kMaxTunnelIndex = (1u << 20) - 1;

class Lpm4 {
 public:
  explicit Lpm4(Epoch* epoch);
  ~Lpm4();
  Lpm4(const Lpm4&) = delete;
  Lpm4& operator=(const Lpm4&) = delete;

  // Reader (any thread). addr in host byte order.
  uint32_t lookup(uint32_t addr) const {
    uint32_t e = tbl24_[addr >> 8].load(std::memory_order_acquire);
    if (e & kExt) e = group(e & kIndexMask)[addr & 0xff].load(std::memory_order_acquire);
    return (e & kValid) ? (e & kIndexMask) : kNoRoute;
  }
  // Writer (one control thread). Returns false when out of memory for groups.
  bool insert(uint32_t addr, int len, uint32_t tunnel);
  bool remove(uint32_t addr, int len);  // false if absent
  void remove_tunnel(uint32_t tunnel);  // drops every route into that tunnel
  size_t size() const { return routes_.size(); }
  bool ok() const { return tbl24_ != nullptr; }

 private:
  static constexpr uint32_t kExt = 0x80000000u;
  static constexpr uint32_t kValid = 0x40000000u;
  static constexpr uint32_t kIndexMask = 0x000fffffu;
  static constexpr int kLenShift = 20;
  static constexpr uint32_t kGroupsPerChunk = 1024;
  static constexpr uint32_t kMaxChunks = 4096;

  static uint32_t leaf(int len, uint32_t tunnel) { return kValid | (uint32_t(len) << kLenShift) | tunnel; }
  static int leaf_len(uint32_t e) { return (e & kValid) ? int((e >> kLenShift) & 0x3f) : -1; }
  std::atomic<uint32_t>* group(uint32_t g) const {
    return chunks_[g / kGroupsPerChunk].load(std::memory_order_acquire) + size_t(g % kGroupsPerChunk) * 256;
  }
  uint32_t covering(uint32_t addr, int len) const;  // best leaf strictly shorter than len, or 0
  int64_t alloc_group();
  void free_group(uint32_t g);

  Epoch* epoch_;
  std::atomic<uint32_t>* tbl24_ = nullptr;
  std::atomic<std::atomic<uint32_t>*> chunks_[kMaxChunks] = {};
  uint32_t nchunks_ = 0;
  uint32_t next_group_ = 0;
  IdRecycler spare_groups_;
  std::vector<uint16_t> group_long_routes_;                    // per group: routes longer than /24
  RouteMap4 routes_;                                           // (addr, len) → tunnel
};

class Lpm6 {
 public:
  explicit Lpm6(Epoch* epoch);
  ~Lpm6();
  Lpm6(const Lpm6&) = delete;
  Lpm6& operator=(const Lpm6&) = delete;

  uint32_t lookup(const uint8_t* addr) const {
    uint32_t best = 0;
    uint32_t node = 0;
    for (int d = 0; d < 32; d++) {
      uint8_t nib = (d & 1) ? (addr[d >> 1] & 0xf) : (addr[d >> 1] >> 4);
      uint64_t e = entry(node, nib).load(std::memory_order_acquire);
      uint32_t lf = uint32_t(e);
      if (lf & kValid) best = lf;
      uint32_t child = uint32_t(e >> 32);
      if (!child) break;
      node = child;
    }
    return (best & kValid) ? (best & kIndexMask) : kNoRoute;
  }
  bool insert(const uint8_t* addr, int len, uint32_t tunnel);
  bool remove(const uint8_t* addr, int len);
  void remove_tunnel(uint32_t tunnel);
  size_t size() const { return routes_.size(); }
  // Trie nodes in use (root included); removal gives empty nodes back.
  size_t nodes() const { return next_node_ - spare_nodes_.size(); }
  bool ok() const { return chunks_[0].load() != nullptr; }

 private:
  static constexpr uint32_t kValid = 0x80000000u;
  static constexpr uint32_t kIndexMask = 0x000fffffu;
  static constexpr int kLenShift = 20;
  static constexpr uint32_t kNodesPerChunk = 4096;
  static constexpr uint32_t kMaxChunks = 16384;
  struct Key {
    uint8_t a[16];
    int len;
    bool operator==(const Key& o) const;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  std::atomic<uint64_t>& entry(uint32_t node, uint32_t i) const {
    return chunks_[node / kNodesPerChunk].load(std::memory_order_acquire)[size_t(node % kNodesPerChunk) * 16 + i];
  }
  int64_t alloc_node();
  bool node_empty(uint32_t node) const;
  void prune(const uint8_t* addr, int depth);  // frees trie nodes left empty by a removal
  uint32_t covering(const uint8_t* addr, int len, int min_len) const;
  void set_range(const uint8_t* addr, int len, uint32_t new_leaf, bool is_remove);

  Epoch* epoch_;
  std::atomic<std::atomic<uint64_t>*> chunks_[kMaxChunks] = {};
  uint32_t nchunks_ = 0;
  uint32_t next_node_ = 1;  // node 0 is the root
  IdRecycler spare_nodes_;
  std::unordered_map<Key, uint32_t, KeyHash> routes_;
};

// Canonical prefix helpers (host-order IPv4; IPv6 as 16 bytes, bits past len zeroed).
inline uint32_t mask4(uint32_t a, int len) { return len == 0 ? 0 : a & (~uint32_t(0) << (32 - len)); }
void mask6(uint8_t* a, int len);

}  // namespace gredge
