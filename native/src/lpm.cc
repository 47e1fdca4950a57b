// LPM tables (see lpm.h). Writers run on one control thread; every store a reader can observe
// leaves the table consistent: a new tbl8 group / trie node is filled before it is published
// with a release store, and a retired group is reused only after an epoch grace period.
#include "lpm.h"

#include <sys/mman.h>

#include <cstring>

namespace gredge {

void mask6(uint8_t* a, int len) {
  for (int i = 0; i < 16; i++) {
    int bits = len - i * 8;
    if (bits >= 8) continue;
    a[i] = bits <= 0 ? 0 : uint8_t(a[i] & (0xff00 >> bits));
  }
}

// ---------------------------------------------------------------- IPv4 DIR-24-8

Lpm4::Lpm4(Epoch* epoch) : epoch_(epoch) {
  // 64 MiB of address space; the kernel hands out zero pages lazily, so an empty or small
  // table costs little resident memory.
  void* p = mmap(nullptr, sizeof(std::atomic<uint32_t>) << 24, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED) tbl24_ = static_cast<std::atomic<uint32_t>*>(p);
}

Lpm4::~Lpm4() {
  if (tbl24_) munmap(tbl24_, sizeof(std::atomic<uint32_t>) << 24);
  for (uint32_t i = 0; i < nchunks_; i++) delete[] chunks_[i].load();
}

uint32_t Lpm4::covering(uint32_t addr, int len) const {
  for (int l = len - 1; l >= 0; l--) {
    int64_t t = routes_.find(RouteMap4::key(mask4(addr, l), l));
    if (t >= 0) return leaf(l, uint32_t(t));
  }
  return 0;
}

int64_t Lpm4::alloc_group() {
  uint32_t g;
  if (spare_groups_.take(*epoch_, &g)) return g;
  if (next_group_ == nchunks_ * kGroupsPerChunk) {
    if (nchunks_ == kMaxChunks) return -1;
    auto* c = new (std::nothrow) std::atomic<uint32_t>[size_t(kGroupsPerChunk) * 256]();
    if (!c) return -1;
    chunks_[nchunks_].store(c, std::memory_order_release);
    nchunks_++;
    group_long_routes_.resize(size_t(nchunks_) * kGroupsPerChunk);
  }
  return next_group_++;
}

void Lpm4::free_group(uint32_t g) { spare_groups_.retire(*epoch_, g); }

bool Lpm4::insert(uint32_t addr, int len, uint32_t tunnel) {
  if (!tbl24_ || len < 0 || len > 32 || tunnel > kMaxTunnelIndex) return false;
  addr = mask4(addr, len);
  const uint32_t lf = leaf(len, tunnel);
  if (len <= 24) {
    uint32_t first = addr >> 8, count = 1u << (24 - len);
    for (uint32_t s = first; s < first + count; s++) {
      uint32_t e = tbl24_[s].load(std::memory_order_relaxed);
      if (e & kExt) {
        auto* g = group(e & kIndexMask);
        for (int i = 0; i < 256; i++)
          if (leaf_len(g[i].load(std::memory_order_relaxed)) <= len) g[i].store(lf, std::memory_order_release);
      } else if (leaf_len(e) <= len) {
        tbl24_[s].store(lf, std::memory_order_release);
      }
    }
    routes_.put(RouteMap4::key(addr, len), tunnel);
    return true;
  }
  uint32_t s = addr >> 8;
  uint32_t e = tbl24_[s].load(std::memory_order_relaxed);
  uint32_t gi;
  if (e & kExt) {
    gi = e & kIndexMask;
  } else {
    int64_t g = alloc_group();
    if (g < 0) return false;
    gi = uint32_t(g);
    auto* grp = group(gi);
    for (int i = 0; i < 256; i++) grp[i].store(e, std::memory_order_relaxed);
    group_long_routes_[gi] = 0;
    tbl24_[s].store(kExt | gi, std::memory_order_release);
  }
  auto* grp = group(gi);
  uint32_t first = addr & 0xff, count = 1u << (32 - len);
  for (uint32_t i = first; i < first + count; i++)
    if (leaf_len(grp[i].load(std::memory_order_relaxed)) <= len) grp[i].store(lf, std::memory_order_release);
  if (routes_.put(RouteMap4::key(addr, len), tunnel)) group_long_routes_[gi]++;
  return true;
}

bool Lpm4::remove(uint32_t addr, int len) {
  if (!tbl24_ || len < 0 || len > 32) return false;
  addr = mask4(addr, len);
  if (!routes_.erase(RouteMap4::key(addr, len))) return false;
  const uint32_t repl = covering(addr, len);
  if (len <= 24) {
    uint32_t first = addr >> 8, count = 1u << (24 - len);
    for (uint32_t s = first; s < first + count; s++) {
      uint32_t e = tbl24_[s].load(std::memory_order_relaxed);
      if (e & kExt) {
        auto* g = group(e & kIndexMask);
        for (int i = 0; i < 256; i++)
          if (leaf_len(g[i].load(std::memory_order_relaxed)) == len) g[i].store(repl, std::memory_order_release);
      } else if (leaf_len(e) == len) {
        tbl24_[s].store(repl, std::memory_order_release);
      }
    }
    return true;
  }
  uint32_t s = addr >> 8;
  uint32_t e = tbl24_[s].load(std::memory_order_relaxed);
  if (!(e & kExt)) return true;  // cannot happen: a long route always lives in a group
  uint32_t gi = e & kIndexMask;
  auto* grp = group(gi);
  uint32_t first = addr & 0xff, count = 1u << (32 - len);
  for (uint32_t i = first; i < first + count; i++)
    if (leaf_len(grp[i].load(std::memory_order_relaxed)) == len) grp[i].store(repl, std::memory_order_release);
  if (--group_long_routes_[gi] == 0) {
    // Only routes of /24 or shorter remain, and they cover the whole /24 alike.
    tbl24_[s].store(grp[0].load(std::memory_order_relaxed), std::memory_order_release);
    free_group(gi);
  }
  return true;
}

void Lpm4::remove_tunnel(uint32_t tunnel) {
  std::vector<uint64_t> keys;
  routes_.each([&](uint64_t k, uint32_t t) {
    if (t == tunnel) keys.push_back(k);
  });
  for (uint64_t k : keys) remove(uint32_t(k >> 8), int(k & 0xff));
}

// ---------------------------------------------------------------- IPv6 4-bit-stride trie

bool Lpm6::Key::operator==(const Key& o) const { return len == o.len && memcmp(a, o.a, 16) == 0; }
size_t Lpm6::KeyHash::operator()(const Key& k) const {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : k.a) h = (h ^ b) * 1099511628211ull;
  return size_t((h ^ uint64_t(k.len)) * 1099511628211ull);
}

Lpm6::Lpm6(Epoch* epoch) : epoch_(epoch) { alloc_node(); }

Lpm6::~Lpm6() {
  for (uint32_t i = 0; i < nchunks_; i++) delete[] chunks_[i].load();
}

int64_t Lpm6::alloc_node() {
  uint32_t spare;
  if (spare_nodes_.take(*epoch_, &spare)) {
    // Readers that could still see it are gone; it is published by the parent's release store.
    for (uint32_t i = 0; i < 16; i++) entry(spare, i).store(0, std::memory_order_relaxed);
    return spare;
  }
  uint32_t n = nchunks_ == 0 ? 0 : next_node_;
  if (nchunks_ == 0 || n == nchunks_ * kNodesPerChunk) {
    if (nchunks_ == kMaxChunks) return -1;
    auto* c = new (std::nothrow) std::atomic<uint64_t>[size_t(kNodesPerChunk) * 16]();
    if (!c) return -1;
    chunks_[nchunks_].store(c, std::memory_order_release);
    nchunks_++;
  }
  if (n == 0) return 0;  // the root, allocated with the first chunk
  return next_node_++;
}

uint32_t Lpm6::covering(const uint8_t* addr, int len, int min_len) const {
  Key k;
  for (int l = len - 1; l >= min_len; l--) {
    memcpy(k.a, addr, 16);
    mask6(k.a, l);
    k.len = l;
    auto it = routes_.find(k);
    if (it != routes_.end()) return kValid | (uint32_t(l) << kLenShift) | it->second;
  }
  return 0;
}

static inline uint8_t nibble(const uint8_t* a, int d) { return (d & 1) ? (a[d >> 1] & 0xf) : (a[d >> 1] >> 4); }

void Lpm6::set_range(const uint8_t* addr, int len, uint32_t new_leaf, bool is_remove) {
  const int depth = len == 0 ? 0 : (len - 1) / 4;
  uint32_t node = 0;
  for (int d = 0; d < depth; d++) {
    auto& e = entry(node, nibble(addr, d));
    uint64_t v = e.load(std::memory_order_relaxed);
    uint32_t child = uint32_t(v >> 32);
    if (!child) {
      if (is_remove) return;
      int64_t c = alloc_node();
      if (c < 0) return;
      child = uint32_t(c);
      // A fresh node is all zeroes (no leaf, no child) and is published with release.
      e.store((uint64_t(child) << 32) | (v & 0xffffffffu), std::memory_order_release);
    }
    node = child;
  }
  const int covered = len - depth * 4;  // 0..4 bits of this level's nibble fixed by the prefix
  const uint32_t first = nibble(addr, depth) & (0xf0 >> covered) & 0xf;
  const uint32_t count = 1u << (4 - covered);
  for (uint32_t i = first; i < first + count; i++) {
    auto& e = entry(node, i);
    uint64_t v = e.load(std::memory_order_relaxed);
    uint32_t lf = uint32_t(v);
    int cur = (lf & kValid) ? int((lf >> kLenShift) & 0xff) : -1;
    bool hit = is_remove ? cur == len : cur <= len;
    if (hit) e.store((v & 0xffffffff00000000ull) | new_leaf, std::memory_order_release);
  }
}

bool Lpm6::insert(const uint8_t* addr, int len, uint32_t tunnel) {
  if (len < 0 || len > 128 || tunnel > kMaxTunnelIndex || !ok()) return false;
  Key k;
  memcpy(k.a, addr, 16);
  mask6(k.a, len);
  k.len = len;
  if (next_node_ + 32 >= kMaxChunks * kNodesPerChunk) return false;
  set_range(k.a, len, kValid | (uint32_t(len) << kLenShift) | tunnel, false);
  routes_[k] = tunnel;
  return true;
}

bool Lpm6::remove(const uint8_t* addr, int len) {
  if (len < 0 || len > 128) return false;
  Key k;
  memcpy(k.a, addr, 16);
  mask6(k.a, len);
  k.len = len;
  auto it = routes_.find(k);
  if (it == routes_.end()) return false;
  routes_.erase(it);
  const int depth = len == 0 ? 0 : (len - 1) / 4;
  // Only prefixes stored at the same depth share these entries; shorter ones live higher up and
  // the reader already remembers them on its way down.
  uint32_t repl = covering(k.a, len, depth == 0 ? 0 : depth * 4 + 1);
  set_range(k.a, len, repl, true);
  prune(k.a, depth);
  return true;
}

bool Lpm6::node_empty(uint32_t node) const {
  for (uint32_t i = 0; i < 16; i++)
    if (entry(node, i).load(std::memory_order_relaxed) != 0) return false;
  return true;
}

void Lpm6::prune(const uint8_t* addr, int depth) {
  // The path of the removed prefix, root first; then unlink empty nodes bottom-up. A reader
  // already inside an unlinked node sees only empty entries, and the node is reused only after
  // every reader has passed a quiescent point (epoch).
  uint32_t path[33];
  path[0] = 0;
  int d = 0;
  for (; d < depth; d++) {
    uint32_t child = uint32_t(entry(path[d], nibble(addr, d)).load(std::memory_order_relaxed) >> 32);
    if (!child) break;
    path[d + 1] = child;
  }
  for (; d > 0 && node_empty(path[d]); d--) {
    auto& pe = entry(path[d - 1], nibble(addr, d - 1));
    pe.store(pe.load(std::memory_order_relaxed) & 0xffffffffu, std::memory_order_release);
    spare_nodes_.retire(*epoch_, path[d]);
  }
}

void Lpm6::remove_tunnel(uint32_t tunnel) {
  std::vector<Key> keys;
  for (auto& r : routes_)
    if (r.second == tunnel) keys.push_back(r.first);
  for (auto& k : keys) remove(k.a, k.len);
}

}  // namespace gredge
