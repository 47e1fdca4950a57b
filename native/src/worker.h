// One packet worker thread: owns a TUN queue fd and its raw GRE socket(s); see worker.cc.
#pragma once
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "offload.h"
#include "tables.h"
#include "uring.h"

namespace gredge {

class Worker {
 public:
  static constexpr int kBatch = 64;        // recvmmsg batch and TUN reads per wakeup
  static constexpr int kTxMax = 256;       // sendmmsg batch (a 64 KiB super-packet is ~45 segments)
  // Room to prepend GRE (up to 16 bytes), and for direct transmit the outer IP header (up to 40)
  // and Ethernet (14), without copying.
  static constexpr size_t kHeadroom = 96;
  static constexpr size_t kBufSize = 65536 + kHeadroom;
  static constexpr size_t kArena = 4u << 20;  // encap output: packets waiting for sendmmsg

  // vnet: the TUN queue was opened with IFF_VNET_HDR and offloads (TSO in, GRO out).
  // pkt: an AF_PACKET socket for direct transmit (nexthop.h), or -1. The worker owns the sockets.
  Worker(int id, Tables* tables, uint64_t* counters, int tun_fd, int raw4, int raw6, int pkt, bool vnet);
  ~Worker();
  void start();
  void stop();  // signals and joins

 private:
  void run();
  void encap_batch();
  void encap_batch_uring();
  void encap_read(uint8_t* buf, size_t r);
  void decap_batch(int fd, int family);
  uint8_t* tx_slot(size_t n);
  void encap_one(uint8_t* pkt, size_t n);
  void decap_one(uint8_t* pkt, size_t n, int family, const uint8_t* src, size_t cap);
  // data: the GRE packet (n bytes); inner: the packet it carries (for the IPv6 flow label).
  void queue_send(const Tunnel* t, uint8_t* data, size_t n, const uint8_t* inner, size_t inner_len);
  void flush_sends();
  void tun_write(const uint8_t* p, size_t n);
  void tun_write_now(const VnetHdr* h, const uint8_t* p, size_t n);
  void flush_tun_writes();
  void tun_write_hdr(const VnetHdr& h, const uint8_t* p, size_t n);
  void flush_gro();
  void send_ptb(const uint8_t* pkt, size_t n, const Tunnel* t);

  int id_;
  Tables* tables_;
  CounterSlice c_;
  int tun_fd_, raw4_, raw6_, pkt_;
  bool vnet_;
  int stop_fd_ = -1;
  std::thread thread_;
  // Encap: one TUN read at a time into rd_buf_ (vnet header + up to 64 KiB), then packets or
  // segments into the arena, each with headroom for the GRE header, until the sendmmsg flush.
  std::vector<uint8_t> rd_buf_, arena_, rx_mem_;
  // TUN reads through io_uring (when the kernel allows it): up to kBatch reads per system call,
  // each into its own slot of rd_bufs_; ring_k_ adapts the number submitted to what the queue
  // held last time, so a lone packet does not cost kBatch failed reads.
  Uring uring_;
  std::vector<uint8_t> rd_bufs_;
  unsigned ring_k_ = kBatch;
  // Decap: TUN writes queued as io_uring writev requests and submitted once per batch. They
  // point into rx_mem_ (or the GRO buffers within it), valid until the next recvmmsg.
  static constexpr int kWrMax = 64;
  struct WrSlot {
    uint8_t vh[kVnetHdrLen];
    iovec iov[2];
  };
  WrSlot wr_[kWrMax];
  int wr_n_ = 0;
  bool uring_wr_ = false;
  size_t arena_used_ = 0;
  // Send queues: raw IPv4, raw IPv6, and direct (AF_PACKET) frames.
  static constexpr int kQueues = 3;
  mmsghdr tx_msgs_[kQueues][kTxMax];
  iovec tx_iov_[kQueues][kTxMax];
  int tx_n_[kQueues] = {0, 0, 0};
  mmsghdr rx_msgs_[kBatch];
  iovec rx_iov_[kBatch];
  sockaddr_storage rx_names_[kBatch];
  int gso_ptb_left_ = -1;  // PTBs still allowed for the super-packet being cut; -1: no limit
  Gro gro_;
  uint64_t gro_merged_seen_ = 0;
  uint8_t scratch_[1400];
};

}  // namespace gredge
