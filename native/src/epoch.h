// Quiescent-state-based reclamation (QSBR, the RCU flavour userspace-rcu calls "qsbr"): packet
// workers announce a quiescent point once per loop iteration and go "offline" while blocked in
// epoll_wait, so readers never take a lock. A writer that swapped a pointer retires the old
// object; it is freed once every worker has passed a quiescent point after the retirement.
//
// Memory ordering (C++ model, not x86's: the box may be arm64). Going online is a store to
// local_[r] followed by loads of shared pointers: the store-load (Dekker) pattern. A seq_cst store
// followed by *acquire* loads does not order them (only seq_cst operations, or seq_cst fences, take
// part in the single total order S; arm64 may satisfy an LDAPR before an earlier STLR is
// visible). So, as urcu-qsbr does with cmm_smp_mb() around its counter store:
//   reader  store local_[r] ; fence(seq_cst)            ; load pointer P
//   writer  store P (unpublish) ; fence(seq_cst) in passed() ; load local_[r]
// By [atomics.order] (the two-fence rule), whichever fence comes first in S, either the writer's
// load sees the reader's announcement (or a later one), or the reader's load sees the unpublished
// P. Freeing itself is ordered by release/acquire: a reader's later epoch or kOffline is stored
// with release after its last use of old pointers, and passed() loads it with (seq_cst ⊇)
// acquire, so the uses happen before the free.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace gredge {

class Epoch {
 public:
  static constexpr uint64_t kOffline = ~uint64_t(0);
  static constexpr int kMaxReaders = 64;

  Epoch() {
    for (auto& l : local_) l.store(kOffline);
  }
  ~Epoch() { drain(); }

  // Reader side (reader r: a worker, the keepalive or the paths thread). online/quiescent: the
  // release store publishes "done with everything read before"; the fence orders the store
  // before the pointer loads that follow (see the header). offline needs no fence: nothing is
  // read after it.
  void online(int r) {
    local_[r].store(global_.load(std::memory_order_acquire), std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  void quiescent(int r) { online(r); }
  void offline(int r) { local_[r].store(kOffline, std::memory_order_release); }

  // Writer side: an epoch stamp taken after the old object became unreachable.
  uint64_t advance() { return global_.fetch_add(1) + 1; }
  // The oldest epoch any reader may still be in (an offline reader counts as kOffline, above
  // every stamp): everything retired with a stamp <= horizon() has passed its grace period.
  uint64_t horizon() const {
    // Pairs with the fence in online(): orders the caller's unpublishing stores before the
    // loads of the readers' announcements.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    uint64_t h = kOffline;
    for (const auto& l : local_) {
      uint64_t v = l.load(std::memory_order_acquire);
      if (v < h) h = v;
    }
    return h;
  }
  // e: a stamp from advance(), taken after the object was unpublished.
  bool passed(uint64_t e) const { return e <= horizon(); }

  void retire(std::function<void()> free_fn) {
    uint64_t e = advance();
    std::lock_guard<std::mutex> g(mu_);
    pending_.push_back({e, std::move(free_fn)});
  }
  // Runs the free functions whose grace period has elapsed. Called from the control (JS) thread
  // and the paths thread, never from a packet worker; the free functions run outside the mutex
  // on whichever thread called, so they may only free memory that nothing else references
  // (never touch writer-side state: ids go through IdRecycler on the writer's thread).
  void reclaim() {
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard<std::mutex> g(mu_);
      const uint64_t h = horizon();
      size_t keep = 0;
      for (auto& p : pending_) {
        if (p.epoch <= h)
          ready.push_back(std::move(p.fn));
        else
          pending_[keep++] = std::move(p);
      }
      pending_.resize(keep);
    }
    for (auto& f : ready) f();
  }
  // Only when no reader can run any more (shutdown).
  void drain() {
    std::vector<Pending> all;
    {
      std::lock_guard<std::mutex> g(mu_);
      all.swap(pending_);
    }
    for (auto& p : all) p.fn();
  }

 private:
  struct Pending {
    uint64_t epoch;
    std::function<void()> fn;
  };
  std::atomic<uint64_t> global_{1};
  std::atomic<uint64_t> local_[kMaxReaders];
  std::mutex mu_;
  std::vector<Pending> pending_;
};

// Slot ids (LPM groups, trie nodes, tunnel indices) freed while readers may still hold them:
// reusable once every reader has passed the epoch they were retired in. Writer side only: one
// thread (the control thread) retires and takes, so no lock is needed.
class IdRecycler {
 public:
  void retire(Epoch& epoch, uint32_t id) { retired_.push_back({epoch.advance(), id}); }
  // A reusable id, or false when none has finished its grace period.
  bool take(const Epoch& epoch, uint32_t* id) {
    if (free_.empty() && !retired_.empty()) {
      const uint64_t h = epoch.horizon();
      size_t keep = 0;
      for (auto& r : retired_) {
        if (r.first <= h)
          free_.push_back(r.second);
        else
          retired_[keep++] = r;
      }
      retired_.resize(keep);
    }
    if (free_.empty()) return false;
    *id = free_.back();
    free_.pop_back();
    return true;
  }
  size_t size() const { return free_.size() + retired_.size(); }

 private:
  std::vector<uint32_t> free_;
  std::vector<std::pair<uint64_t, uint32_t>> retired_;  // (epoch, id)
};

}  // namespace gredge
