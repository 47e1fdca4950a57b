// Tunnel table and decap index (see tables.h). Control-thread writes publish with release
// stores; replaced or removed tunnels and rebuilt indexes are freed after an epoch grace period.
#include "tables.h"

namespace gredge {

bool prefix_contains(const Prefix& p, const uint8_t* addr, int family) {
  if (p.family != family) return false;
  int full = p.len / 8, rem = p.len % 8;
  if (memcmp(p.addr, addr, size_t(full)) != 0) return false;
  if (rem == 0) return true;
  uint8_t m = uint8_t(0xff00 >> rem);
  return (p.addr[full] & m) == (addr[full] & m);
}

uint64_t DecapIndex::hash(int family, const uint8_t* src, bool any_key, uint32_t key) {
  uint64_t h = 1469598103934665603ull ^ uint64_t(family) ^ (any_key ? 0x9e3779b97f4a7c15ull : 0);
  size_t n = family == 4 ? 4 : 16;
  for (size_t i = 0; i < n; i++) h = (h ^ src[i]) * 1099511628211ull;
  if (!any_key) h = (h ^ key) * 0xff51afd7ed558ccdull;
  h ^= h >> 29;
  return h < 2 ? h + 2 : h;  // 0 and 1 mark empty and tombstone slots
}

void DecapIndex::insert(uint64_t h, uint32_t idx) {
  for (size_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    uint64_t v = slots[i].h.load(std::memory_order_relaxed);
    if (v == kEmpty || v == kTomb) {
      slots[i].idx.store(idx, std::memory_order_relaxed);
      slots[i].h.store(h, std::memory_order_release);
      if (v == kEmpty)
        used++;
      else
        tombs--;
      return;
    }
  }
}

bool DecapIndex::erase(uint64_t h) {
  for (size_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    uint64_t v = slots[i].h.load(std::memory_order_relaxed);
    if (v == h) {
      slots[i].h.store(kTomb, std::memory_order_release);
      tombs++;
      return true;
    }
    if (v == kEmpty) return false;
  }
}

Tables::Tables() : lpm4(&epoch), lpm6(&epoch) { decap.store(new DecapIndex()); }

Tables::~Tables() {
  epoch.drain();
  for (auto& t : tunnels) delete t.load();
  for (auto& p : l2) delete p.load();
  delete decap.load();
}

const Tunnel* Tables::decap_lookup(int family, const uint8_t* src, bool key_present, uint32_t key,
                                   uint32_t* reason) const {
  const DecapIndex* d = decap.load(std::memory_order_acquire);
  if (key_present) {
    uint32_t idx = d->find(DecapIndex::hash(family, src, false, key));
    const Tunnel* t = idx != kNoRoute ? tunnel(idx) : nullptr;
    if (t && t->family == family && t->key == key && memcmp(t->remote, src, family == 4 ? 4 : 16) == 0) return t;
  }
  // Every tunnel has a key (issue 4), so a key-less packet or an unknown key from a known
  // source is "unknown key"; anything else is "unknown source".
  *reason = d->find(DecapIndex::hash(family, src, true, 0)) != kNoRoute ? kDropUnknownKey : kDropUnknownSource;
  return nullptr;
}

void Tables::decap_insert(uint64_t h, uint32_t idx) {
  DecapIndex* d = decap.load(std::memory_order_relaxed);
  if (d->used + 1 > DecapIndex::kSlots / 2) {
    // Too many tombstones: probe chains grow. Build a clean copy and swap it in.
    auto* n = new DecapIndex();
    for (auto& s : d->slots) {
      uint64_t v = s.h.load(std::memory_order_relaxed);
      if (v > DecapIndex::kTomb) n->insert(v, s.idx.load(std::memory_order_relaxed));
    }
    decap.store(n, std::memory_order_release);
    epoch.retire([d] { delete d; });
    d = n;
  }
  d->insert(h, idx);
}

void Tables::decap_erase(uint64_t h) { decap.load(std::memory_order_relaxed)->erase(h); }

std::string Tables::add(Tunnel* t, bool replace) {
  const size_t alen = t->family == 4 ? 4 : 16;
  const uint64_t hk = DecapIndex::hash(t->family, t->remote, false, t->key);
  const uint64_t hs = DecapIndex::hash(t->family, t->remote, true, 0);
  const DecapIndex* d = decap.load(std::memory_order_relaxed);
  uint32_t other = d->find(hk);
  if (other != kNoRoute && (!replace || other != t->idx)) {
    const Tunnel* o = tunnel(other);
    if (o && o->key == t->key && memcmp(o->remote, t->remote, alen) == 0) {
      std::string msg = "a tunnel with the same remote and key exists: " + o->name;
      delete t;
      return msg;
    }
  }
  if (replace) {
    Tunnel* old = t->idx < kMaxTunnels ? tunnels[t->idx].load() : nullptr;
    if (!old) {
      delete t;
      return "no such tunnel";
    }
    uint64_t ohk = DecapIndex::hash(old->family, old->remote, false, old->key);
    uint64_t ohs = DecapIndex::hash(old->family, old->remote, true, 0);
    bool same_id = ohk == hk;
    t->gen = next_gen_++;
    // Publish the new object first: the old and the new are both valid for readers meanwhile,
    // so no packet of this tunnel is lost when only its options change.
    tunnels[t->idx].store(t, std::memory_order_release);
    if (!same_id) {
      decap_erase(ohk);
      decap_insert(hk, t->idx);
      for (size_t i = 0; i < src_refs_.size(); i++)
        if (src_refs_[i].first == ohs && --src_refs_[i].second == 0) {
          decap_erase(ohs);
          src_refs_.erase(src_refs_.begin() + long(i));
          break;
        }
    }
    if (!same_id) {
      bool found = false;
      for (auto& r : src_refs_)
        if (r.first == hs) found = (r.second++, true);
      if (!found) {
        src_refs_.push_back({hs, 1});
        decap_insert(hs, t->idx);
      }
    }
    epoch.retire([old] { delete old; });
    return "";
  }
  if (count_ >= kMaxTunnels) {
    delete t;
    return "too many tunnels (limit 16384)";
  }
  uint32_t idx;
  if (!free_idx_.take(epoch, &idx)) {
    if (next_idx_ >= kMaxTunnels) {
      // Only removed tunnels' indices are left, and readers may still hold them.
      delete t;
      return "too many tunnels: the free indices are still in their grace period (retry shortly)";
    }
    idx = next_idx_++;
  }
  t->idx = idx;
  t->gen = next_gen_++;
  state[idx].reset();
  tunnels[idx].store(t, std::memory_order_release);
  decap_insert(hk, idx);
  bool found = false;
  for (auto& r : src_refs_)
    if (r.first == hs) found = (r.second++, true);
  if (!found) {
    src_refs_.push_back({hs, 1});
    decap_insert(hs, idx);
  }
  count_++;
  return "";
}

std::string Tables::remove(uint32_t idx) {
  Tunnel* old = idx < kMaxTunnels ? tunnels[idx].load() : nullptr;
  if (!old) return "no such tunnel";
  lpm4.remove_tunnel(idx);
  lpm6.remove_tunnel(idx);
  decap_erase(DecapIndex::hash(old->family, old->remote, false, old->key));
  uint64_t hs = DecapIndex::hash(old->family, old->remote, true, 0);
  for (size_t i = 0; i < src_refs_.size(); i++)
    if (src_refs_[i].first == hs && --src_refs_[i].second == 0) {
      decap_erase(hs);
      src_refs_.erase(src_refs_.begin() + long(i));
      break;
    }
  tunnels[idx].store(nullptr, std::memory_order_release);
  // The object is freed, and the index handed out again, only when no reader can still hold
  // them. The clean-up may run on the paths thread (Epoch::reclaim): it frees memory only; the
  // index goes back through free_idx_, which this (control) thread alone reads and writes.
  epoch.retire([old] { delete old; });
  free_idx_.retire(epoch, idx);
  count_--;
  return "";
}

}  // namespace gredge
