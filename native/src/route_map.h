// The exact-match side of the IPv4 LPM: (prefix, length) → tunnel, needed to find the covering
// route on removal and to list a tunnel's routes. One million routes must load in well under a
// second and take little memory, so this is an open-addressing table of single 64-bit words
// (40-bit key addr<<8|len, 20-bit tunnel) with linear probing and backward-shift deletion
// (Knuth, TAOCP vol. 3, 6.4 Algorithm R): no per-entry allocation, no tombstones. Writer only.
#pragma once
#include <cstdint>
#include <vector>

namespace gredge {

class RouteMap4 {
 public:
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // a key's length byte is <= 32, never 0xff..
  static uint64_t key(uint32_t addr, int len) { return (uint64_t(addr) << 8) | uint64_t(len); }

  RouteMap4() { slots_.assign(1024, kEmpty); }
  size_t size() const { return n_; }

  // Tunnel of the exact prefix, or -1.
  int64_t find(uint64_t k) const {
    for (size_t i = home(k);; i = (i + 1) & mask()) {
      uint64_t s = slots_[i];
      if (s == kEmpty) return -1;
      if ((s >> 20) == k) return int64_t(s & kValMask);
    }
  }
  // Inserts or overwrites; true when the prefix is new.
  bool put(uint64_t k, uint32_t v) {
    if ((n_ + 1) * 10 > slots_.size() * 7) grow();
    for (size_t i = home(k);; i = (i + 1) & mask()) {
      uint64_t s = slots_[i];
      if (s == kEmpty) {
        slots_[i] = (k << 20) | v;
        n_++;
        return true;
      }
      if ((s >> 20) == k) {
        slots_[i] = (k << 20) | v;
        return false;
      }
    }
  }
  bool erase(uint64_t k) {
    size_t i = home(k);
    for (;; i = (i + 1) & mask()) {
      if (slots_[i] == kEmpty) return false;
      if ((slots_[i] >> 20) == k) break;
    }
    // Shift later members of the probe run back so that no lookup stops early at the hole.
    for (size_t j = (i + 1) & mask();; j = (j + 1) & mask()) {
      uint64_t s = slots_[j];
      if (s == kEmpty) break;
      size_t h = home(s >> 20);
      bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
      if (movable) {
        slots_[i] = s;
        i = j;
      }
    }
    slots_[i] = kEmpty;
    n_--;
    return true;
  }
  template <class F>
  void each(F f) const {
    for (uint64_t s : slots_)
      if (s != kEmpty) f(s >> 20, uint32_t(s & kValMask));
  }

 private:
  static constexpr uint64_t kValMask = (1u << 20) - 1;
  size_t mask() const { return slots_.size() - 1; }
  size_t home(uint64_t k) const { return size_t((k * 0x9E3779B97F4A7C15ull) >> 24) & mask(); }
  void grow() {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, kEmpty);
    n_ = 0;
    for (uint64_t s : old)
      if (s != kEmpty) put(s >> 20, uint32_t(s & kValMask));
  }
  std::vector<uint64_t> slots_;
  size_t n_ = 0;
};

}  // namespace gredge
