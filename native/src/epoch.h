// Quiescent-state-based reclamation (QSBR, the RCU flavour userspace-rcu calls "qsbr"): packet
// workers announce a quiescent point once per loop iteration and go "offline" while blocked in
// epoll_wait, so readers never take a lock. A writer that swapped a pointer retires the old
// object; it is freed once every worker has passed a quiescent point after the retirement.
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

  // Reader side (worker r). Sequentially consistent so that a writer that saw "offline" is
  // ordered before the reader's next pointer load (see reclaim_ready).
  void online(int r) { local_[r].store(global_.load()); }
  void quiescent(int r) { local_[r].store(global_.load()); }
  void offline(int r) { local_[r].store(kOffline); }

  // Writer side: an epoch stamp taken after the old object became unreachable.
  uint64_t advance() { return global_.fetch_add(1) + 1; }
  bool passed(uint64_t e) const {
    for (const auto& l : local_) {
      uint64_t v = l.load();
      if (v != kOffline && v < e) return false;
    }
    return true;
  }

  void retire(std::function<void()> free_fn) {
    uint64_t e = advance();
    std::lock_guard<std::mutex> g(mu_);
    pending_.push_back({e, std::move(free_fn)});
  }
  // Runs the free functions whose grace period has elapsed. Called from the control thread
  // and the keepalive thread, never from a packet worker.
  void reclaim() {
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard<std::mutex> g(mu_);
      size_t keep = 0;
      for (auto& p : pending_) {
        if (passed(p.epoch))
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

// Slot ids (LPM groups, trie nodes) freed while readers may still hold them: reusable once every
// reader has passed the epoch they were retired in. Writer side only (control thread).
class IdRecycler {
 public:
  void retire(Epoch& epoch, uint32_t id) { retired_.push_back({epoch.advance(), id}); }
  // A reusable id, or false when none has finished its grace period.
  bool take(const Epoch& epoch, uint32_t* id) {
    if (free_.empty() && !retired_.empty()) {
      size_t keep = 0;
      for (auto& r : retired_) {
        if (epoch.passed(r.first))
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
