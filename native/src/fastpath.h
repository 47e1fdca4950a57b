// The packet engine: N worker threads, each owning one TUN queue and its own raw GRE sockets
// (and an AF_PACKET socket for direct transmit),
// moving batches between them (encap: TUN → LPM → GRE → sendmmsg; decap: recvmmsg → tunnel
// lookup → checks → TUN), plus two housekeeping threads: keepalives, and direct-transmit paths
// (route lookups over rtnetlink, which may be slow: they must never delay a keepalive). No N-API
// here: JS talks to this through napi_bridge.cc, state changes leave through a plain callback,
// counters through shared memory.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <linux/filter.h>

#include "tables.h"
#include "tun_linux.h"

namespace gredge {

struct FastpathConfig {
  std::string tun = "gredge0";
  int workers = 2;
  uint32_t mtu = 1500;  // TUN MTU (the largest tunnel MTU is enough)
  bool persistent = false;
  bool offload = true;  // IFF_VNET_HDR + TSO/CSUM on the TUN, segmentation and GRO in the workers
  bool direct_tx = true;  // AF_PACKET transmit on the underlay device when its path is known (nexthop.h)
  bool has_local4 = false, has_local6 = false;
  uint8_t local4[4] = {}, local6[16] = {};
};

using StateCallback = std::function<void(uint32_t idx, bool up)>;

class Worker;

class Fastpath {
 public:
  static constexpr int kMaxWorkers = 32;
  // Opens the TUN queues and sockets and starts the threads. nullptr with *res on failure.
  static std::unique_ptr<Fastpath> open(const FastpathConfig& cfg, StateCallback cb, NetResult* res);
  ~Fastpath();
  void close();  // joins threads, closes fds; idempotent
  // The TUN's persist flag, now: a planned graceful restart leaves the TUN (and the kernel
  // routes into it) for the next instance whatever the config says. JS thread only.
  NetResult set_persistent(bool persist);

  Tables& tables() { return *tables_; }
  const FastpathConfig& config() const { return cfg_; }
  int ifindex() const { return ifindex_; }
  bool offload_active() const { return offload_active_; }
  bool direct_tx_active() const { return direct_tx_active_; }
  // Counters: (workers + 1) slices of kSliceSlots uint64 each; the last slice belongs to the
  // keepalive thread (the paths thread counts nothing). Shared with JS; kept alive by the
  // shared_ptr.
  std::shared_ptr<uint64_t> counters() const { return counters_; }
  size_t counter_slices() const { return size_t(cfg_.workers) + 1; }
  // Control thread: frees what the epoch says is safe.
  void reclaim() { tables_->epoch.reclaim(); }

  // Epoch reader slots: workers 0..workers-1, then these two.
  int keepalive_reader() const { return cfg_.workers; }
  int paths_reader() const { return cfg_.workers + 1; }

 private:
  Fastpath() = default;
  void keepalive_loop();
  void paths_loop();
  enum class PathRound { kPeriodic, kRoutes, kNeighbours };
  void refresh_paths(class Resolver& r, PathRound kind);

  FastpathConfig cfg_;
  std::unique_ptr<Tables> tables_;
  std::shared_ptr<uint64_t> counters_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<int> tun_fds_;
  int ka_fd_ = -1;  // not owned: worker 0's raw IPv4 socket
  int ifindex_ = 0;
  bool offload_active_ = false;
  bool direct_tx_active_ = false;
  uint32_t path_cursor_ = 0;     // paths thread: where the next round of path refreshes starts
  std::vector<uint64_t> last_tx_;  // paths thread: tunnel tx packets at the last periodic round
  StateCallback cb_;
  std::thread ka_thread_;
  std::thread paths_thread_;
  std::atomic<bool> stop_{false};
  bool closed_ = false;
};

// Raw GRE socket helpers shared by workers and the keepalive thread.
int open_raw_gre(int family, const uint8_t* local, int worker, int nworkers, bool drop_all, NetResult* res);
// The classic BPF program that makes raw GRE socket `worker` of `nworkers` take its share.
std::vector<sock_filter> split_filter(int family, uint32_t worker, uint32_t nworkers);

}  // namespace gredge
