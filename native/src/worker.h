// One packet worker thread: owns a TUN queue fd and its raw GRE socket(s); see worker.cc.
#pragma once
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "tables.h"

namespace gredge {

class Worker {
 public:
  static constexpr int kBatch = 64;
  static constexpr size_t kHeadroom = 64;  // room to prepend GRE without copying
  static constexpr size_t kBufSize = 65536 + kHeadroom;

  Worker(int id, Tables* tables, uint64_t* counters, int tun_fd, int raw4, int raw6);
  ~Worker();
  void start();
  void stop();  // signals and joins

 private:
  void run();
  void encap_batch();
  void decap_batch(int fd, int family);
  void encap_one(uint8_t* pkt, size_t n);
  void decap_one(uint8_t* pkt, size_t n, int family, const uint8_t* src);
  void queue_send(const Tunnel* t, uint8_t* data, size_t n);
  void flush_sends();
  void tun_write(const uint8_t* p, size_t n);
  void send_ptb(const uint8_t* pkt, size_t n, const Tunnel* t);

  int id_;
  Tables* tables_;
  CounterSlice c_;
  int tun_fd_, raw4_, raw6_;
  int stop_fd_ = -1;
  std::thread thread_;
  // Encap batch: buffers read from the TUN, then the pending sendmmsg vectors per family.
  std::vector<uint8_t> tx_mem_, rx_mem_;
  mmsghdr tx_msgs_[2][kBatch];
  iovec tx_iov_[2][kBatch];
  int tx_n_[2] = {0, 0};
  mmsghdr rx_msgs_[kBatch];
  iovec rx_iov_[kBatch];
  sockaddr_storage rx_names_[kBatch];
  uint8_t scratch_[1400];
};

}  // namespace gredge
