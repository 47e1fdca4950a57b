// io_uring set-up and submission through the raw system calls (see uring.h for why).
#include "uring.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace gredge {

static int sys_setup(unsigned entries, io_uring_params* p) { return int(syscall(__NR_io_uring_setup, entries, p)); }

static int sys_enter(int fd, unsigned submit, unsigned wait, unsigned flags) {
  return int(syscall(__NR_io_uring_enter, fd, submit, wait, flags, nullptr, 0));
}

Uring::~Uring() {
  if (sqes_) munmap(sqes_, sqes_sz_);
  if (cq_ring_ && cq_ring_ != sq_ring_) munmap(cq_ring_, cq_ring_sz_);
  if (sq_ring_) munmap(sq_ring_, sq_ring_sz_);
  if (fd_ >= 0) ::close(fd_);
}

bool Uring::init(unsigned entries) {
  io_uring_params p;
  memset(&p, 0, sizeof(p));
  // Only this worker thread submits, and completions are reaped by it in the same call.
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
  int fd = sys_setup(entries, &p);
  if (fd < 0 && errno == EINVAL) {
    memset(&p, 0, sizeof(p));
    fd = sys_setup(entries, &p);
  }
  if (fd < 0) return false;
  fd_ = fd;
  sq_ring_sz_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cq_ring_sz_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  const bool single = p.features & IORING_FEAT_SINGLE_MMAP;
  if (single && cq_ring_sz_ > sq_ring_sz_) sq_ring_sz_ = cq_ring_sz_;
  sq_ring_ = mmap(nullptr, sq_ring_sz_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (sq_ring_ == MAP_FAILED) {
    sq_ring_ = nullptr;
    return false;
  }
  if (single) {
    cq_ring_ = sq_ring_;
  } else {
    cq_ring_ = mmap(nullptr, cq_ring_sz_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    if (cq_ring_ == MAP_FAILED) {
      cq_ring_ = nullptr;
      return false;
    }
  }
  sqes_sz_ = p.sq_entries * sizeof(io_uring_sqe);
  void* s = mmap(nullptr, sqes_sz_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (s == MAP_FAILED) return false;
  sqes_ = static_cast<io_uring_sqe*>(s);
  auto* sq = static_cast<uint8_t*>(sq_ring_);
  auto* cq = static_cast<uint8_t*>(cq_ring_);
  sq_head_ = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
  sq_tail_p_ = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
  sq_array_ = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
  sq_mask_ = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
  sq_entries_ = p.sq_entries;
  cq_head_ = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
  cq_tail_ = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
  cq_mask_ = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
  cqes_ = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
  sq_tail_ = *sq_tail_p_;
  return true;
}

io_uring_sqe* Uring::get_sqe() {
  unsigned head = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE);
  if (sq_tail_ - head >= sq_entries_) return nullptr;
  unsigned idx = sq_tail_ & sq_mask_;
  io_uring_sqe* e = &sqes_[idx];
  memset(e, 0, sizeof(*e));
  sq_array_[idx] = idx;
  sq_tail_++;
  to_submit_++;
  return e;
}

int Uring::submit_and_wait(unsigned wait) {
  __atomic_store_n(sq_tail_p_, sq_tail_, __ATOMIC_RELEASE);
  unsigned n = to_submit_;
  for (;;) {
    int r = sys_enter(fd_, n, wait, wait ? IORING_ENTER_GETEVENTS : 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    to_submit_ -= unsigned(r) < n ? unsigned(r) : n;
    return r;
  }
}

}  // namespace gredge
