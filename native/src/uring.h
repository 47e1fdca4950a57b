// A minimal io_uring (raw syscalls, no liburing): one ring per worker thread, used to submit many
// TUN reads in one system call. A TUN read() moves one packet, and on this kind of VM a system
// call costs about a microsecond before any work is done, so batching the calls is what pays.
#pragma once
#include <linux/io_uring.h>

#include <cstddef>
#include <cstdint>

namespace gredge {

class Uring {
 public:
  Uring() = default;
  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  // False when the kernel refuses io_uring (disabled, seccomp, old kernel): callers fall back.
  bool init(unsigned entries);
  bool ok() const { return fd_ >= 0; }
  unsigned entries() const { return sq_entries_; }

  // A cleared SQE, or nullptr when the submission queue is full.
  io_uring_sqe* get_sqe();
  // Submits what get_sqe handed out and waits for `wait` completions. <0: -errno.
  int submit_and_wait(unsigned wait);
  // Calls f(user_data, res) for each completion, then releases them; returns how many.
  template <class F>
  unsigned reap(F&& f) {
    unsigned head = *cq_head_;
    unsigned tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
    unsigned n = 0;
    for (; head != tail; head++, n++) {
      const io_uring_cqe& c = cqes_[head & cq_mask_];
      f(c.user_data, c.res);
    }
    __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
    return n;
  }

 private:
  int fd_ = -1;
  unsigned sq_entries_ = 0, sq_mask_ = 0, cq_mask_ = 0;
  unsigned sq_tail_ = 0, to_submit_ = 0;
  void* sq_ring_ = nullptr;
  void* cq_ring_ = nullptr;
  size_t sq_ring_sz_ = 0, cq_ring_sz_ = 0, sqes_sz_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_p_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  io_uring_cqe* cqes_ = nullptr;
};

}  // namespace gredge
