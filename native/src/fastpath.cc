// Fastpath lifecycle: TUN queues, raw GRE sockets (RFC 2784 over IPv4, RFC 7676 over IPv6),
// worker threads, the keepalive thread (Cisco-style GRE keepalives: originate every interval,
// mark the tunnel down after `retries` intervals without a reply) and the paths thread (direct
// transmit's route and neighbour lookups, nexthop.h). Keepalives and lookups are on separate
// threads because a lookup waits for the kernel (up to a 0.5 s timeout, up to 16,384 a round)
// and a keepalive must leave on time.
#include "fastpath.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <linux/if_packet.h>

#include "gre.h"
#include "nexthop.h"
#include "worker.h"

namespace gredge {

static void set_bufs(int fd) {
  // The default ~208 KiB overflows under TCP bursts (LAB-FACTS); FORCE needs CAP_NET_ADMIN.
  int sz = 16 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

// Which worker takes a GRE packet. A packet with only the K bit set (no sequence number, no
// checksum) carrying IPv4 or IPv6 is split by a hash of its inner addresses and ports, so that
// one busy tunnel uses every worker while each inner flow stays on one worker (in order, and
// coalescable). Anything else (sequenced tunnels, whose in-order check is per tunnel;
// keepalives; short or odd packets) is split by the outer source (IPv4: raw sockets see the
// outer header) or by the key (IPv6: they do not), so a tunnel's sequence check stays on one
// worker. Every load is bounds-checked first: an out-of-range load would silently drop.
std::vector<sock_filter> split_filter(int family, uint32_t worker, uint32_t nworkers) {
  struct Ins {
    sock_filter f;
    int jt = -1, jf = -1;  // label targets (resolved below), -1: fall through
  };
  enum { kV4, kV6, kMix, kFallback, kKey8, kZero, kFold, kAccept, kReject, kLabels };
  std::vector<Ins> code;
  int label[kLabels] = {};
  auto op = [&](uint16_t c, uint32_t k) { code.push_back({BPF_STMT(c, k)}); };
  auto jmp = [&](uint16_t c, uint32_t k, int jt, int jf) { code.push_back({BPF_JUMP(c, k, 0, 0), jt, jf}); };
  auto here = [&](int l) { label[l] = int(code.size()); };
  if (family == 4)
    op(BPF_LDX | BPF_B | BPF_MSH, 0);  // X = outer IHL * 4
  else
    op(BPF_LDX | BPF_IMM, 0);
  op(BPF_STX, 0);  // M[0] = offset of the GRE header
  // GRE header + 4 bytes: flags/version then protocol.
  op(BPF_LD | BPF_W | BPF_LEN, 0);
  op(BPF_ST, 1);
  op(BPF_LD | BPF_MEM, 0);
  op(BPF_ALU | BPF_ADD | BPF_K, 8);
  op(BPF_MISC | BPF_TAX, 0);
  op(BPF_LD | BPF_MEM, 1);
  jmp(BPF_JMP | BPF_JGE | BPF_X, 0, -1, kFallback);
  op(BPF_LDX | BPF_MEM, 0);
  op(BPF_LD | BPF_H | BPF_IND, 0);
  jmp(BPF_JMP | BPF_JEQ | BPF_K, 0x2000, -1, kFallback);
  op(BPF_LD | BPF_H | BPF_IND, 2);
  jmp(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, kV4, -1);
  jmp(BPF_JMP | BPF_JEQ | BPF_K, 0x86DD, kV6, kFallback);
  // Inner header at X + 8 (the 8-byte keyed GRE header).
  auto inner = [&](uint32_t need, uint32_t src, uint32_t dst, uint32_t ports) {
    op(BPF_LD | BPF_MEM, 0);
    op(BPF_ALU | BPF_ADD | BPF_K, need);
    op(BPF_MISC | BPF_TAX, 0);
    op(BPF_LD | BPF_MEM, 1);
    jmp(BPF_JMP | BPF_JGE | BPF_X, 0, -1, kFallback);
    op(BPF_LDX | BPF_MEM, 0);
    op(BPF_LD | BPF_W | BPF_IND, src);
    op(BPF_ST, 2);
    op(BPF_LD | BPF_W | BPF_IND, dst);
    op(BPF_ST, 3);
    op(BPF_LD | BPF_W | BPF_IND, ports);
    jmp(BPF_JMP | BPF_JA, 0, kMix, kMix);
  };
  here(kV4);
  inner(8 + 24, 8 + 12, 8 + 16, 8 + 20);  // ports assume no IPv4 options: still per-flow stable
  here(kV6);
  inner(8 + 44, 8 + 20, 8 + 36, 8 + 40);  // low words of the addresses
  here(kMix);
  op(BPF_LDX | BPF_MEM, 2);
  op(BPF_ALU | BPF_XOR | BPF_X, 0);
  op(BPF_LDX | BPF_MEM, 3);
  op(BPF_ALU | BPF_XOR | BPF_X, 0);
  op(BPF_MISC | BPF_TAX, 0);
  op(BPF_ALU | BPF_RSH | BPF_K, 16);
  op(BPF_ALU | BPF_XOR | BPF_X, 0);
  op(BPF_ALU | BPF_MOD | BPF_K, nworkers);
  jmp(BPF_JMP | BPF_JEQ | BPF_K, worker, kAccept, kReject);
  here(kFallback);
  if (family == 4) {
    op(BPF_LD | BPF_W | BPF_ABS, 12);  // outer source
  } else {
    // The key follows the optional checksum word (C bit, 0x80 of the first byte).
    op(BPF_LD | BPF_W | BPF_LEN, 0);
    jmp(BPF_JMP | BPF_JGE | BPF_K, 12, -1, kZero);  // runts go to worker 0, which counts them
    op(BPF_LD | BPF_B | BPF_ABS, 0);
    jmp(BPF_JMP | BPF_JSET | BPF_K, 0x80, kKey8, -1);
    op(BPF_LD | BPF_W | BPF_ABS, 4);
    jmp(BPF_JMP | BPF_JA, 0, kFold, kFold);
    here(kKey8);
    op(BPF_LD | BPF_W | BPF_ABS, 8);
    jmp(BPF_JMP | BPF_JA, 0, kFold, kFold);
    here(kZero);
    op(BPF_LD | BPF_IMM, 0);
  }
  here(kFold);
  op(BPF_ALU | BPF_MOD | BPF_K, nworkers);
  jmp(BPF_JMP | BPF_JEQ | BPF_K, worker, kAccept, kReject);
  here(kAccept);
  op(BPF_RET | BPF_K, 0x40000);
  here(kReject);
  op(BPF_RET | BPF_K, 0);
  std::vector<sock_filter> out;
  for (size_t i = 0; i < code.size(); i++) {
    sock_filter f = code[i].f;
    auto rel = [&](int target) { return uint8_t(target - int(i) - 1); };
    if (BPF_CLASS(f.code) == BPF_JMP && BPF_OP(f.code) == BPF_JA) {
      f.k = uint32_t(label[code[i].jt] - int(i) - 1);
    } else if (BPF_CLASS(f.code) == BPF_JMP) {
      f.jt = code[i].jt < 0 ? 0 : rel(label[code[i].jt]);
      f.jf = code[i].jf < 0 ? 0 : rel(label[code[i].jf]);
    }
    out.push_back(f);
  }
  return out;
}

int open_raw_gre(int family, const uint8_t* local, int worker, int nworkers, bool drop_all, NetResult* res) {
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kProtoGre);
  if (fd < 0) {
    int e = errno;
    res->err = (e == EPERM || e == EACCES) ? NetErr::kPermission : NetErr::kOpen;
    res->sys_errno = e;
    res->msg = std::string("raw GRE socket: ") + strerror(e) +
               (res->err == NetErr::kPermission ? " (gredge needs CAP_NET_RAW/CAP_NET_ADMIN: run it as root)" : "");
    return -1;
  }
  if (local) {
    sockaddr_storage ss{};
    socklen_t sl;
    if (family == 4) {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      memcpy(&s4->sin_addr, local, 4);
      sl = sizeof(*s4);
    } else {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      memcpy(&s6->sin6_addr, local, 16);
      sl = sizeof(*s6);
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sl) < 0) {
      int e = errno;
      ::close(fd);
      res->err = NetErr::kOpen;
      res->sys_errno = e;
      res->msg = std::string("bind raw GRE socket to the underlay address: ") + strerror(e);
      return -1;
    }
  }
  // Every raw GRE socket gets a copy of every GRE packet (LAB-FACTS): a classic BPF filter
  // gives each worker its share (split_filter).
  std::vector<sock_filter> prog;
  if (drop_all)
    prog = {BPF_STMT(BPF_RET | BPF_K, 0)};
  else if (nworkers > 1)
    prog = split_filter(family, uint32_t(worker), uint32_t(nworkers));
  if (!prog.empty()) {
    sock_fprog fp{uint16_t(prog.size()), prog.data()};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0) {
      int e = errno;
      ::close(fd);
      res->err = NetErr::kOpen;
      res->sys_errno = e;
      res->msg = std::string("SO_ATTACH_FILTER: ") + strerror(e);
      return -1;
    }
  }
  if (!drop_all) set_bufs(fd);
  return fd;
}

std::unique_ptr<Fastpath> Fastpath::open(const FastpathConfig& cfg, StateCallback cb, NetResult* res) {
  std::unique_ptr<Fastpath> fp(new Fastpath());
  fp->cfg_ = cfg;
  fp->cb_ = std::move(cb);
  if (cfg.workers < 1 || cfg.workers > kMaxWorkers) {
    res->err = NetErr::kArg;
    res->msg = "workers must be 1.." + std::to_string(kMaxWorkers);
    return nullptr;
  }
  fp->tables_ = std::make_unique<Tables>();
  if (!fp->tables_->lpm4.ok() || !fp->tables_->lpm6.ok()) {
    res->err = NetErr::kOpen;
    res->msg = "cannot allocate the LPM tables";
    return nullptr;
  }
  size_t slots = fp->counter_slices() * kSliceSlots;
  fp->counters_ = std::shared_ptr<uint64_t>(new uint64_t[slots](), std::default_delete<uint64_t[]>());
  auto fail_close = [&]() {
    fp->close();
    return nullptr;
  };
  // Offloads (IFF_VNET_HDR + TSO/CSUM): when the kernel refuses them the data plane still runs,
  // one packet per TUN read and write, and says so through offload_active().
  bool vnet = cfg.offload;
  if (vnet) {
    NetResult probe;
    int fd = tun_open_queue(cfg.tun, true, &probe);
    if (fd >= 0 && tun_set_offload(fd, kTunFCsum | kTunFTso4 | kTunFTso6 | kTunFTsoEcn).ok()) {
      fp->tun_fds_.push_back(fd);
    } else {
      if (fd >= 0) ::close(fd);
      if (probe.err == NetErr::kPermission) {
        *res = probe;
        return fail_close();
      }
      vnet = false;
    }
  }
  fp->offload_active_ = vnet;
  for (int i = int(fp->tun_fds_.size()); i < cfg.workers; i++) {
    int fd = tun_open_queue(cfg.tun, vnet, res);
    if (fd < 0) return fail_close();
    fp->tun_fds_.push_back(fd);
  }
  // Both ways: a TUN an earlier instance made persistent goes at exit when this config says so.
  *res = tun_set_persist(fp->tun_fds_[0], cfg.persistent);
  if (!res->ok()) return fail_close();
  *res = link_set_mtu_up(cfg.tun, cfg.mtu);
  if (!res->ok()) return fail_close();
  fp->ifindex_ = link_index(cfg.tun);
  for (int i = 0; i < cfg.workers; i++) {
    int r4 = open_raw_gre(4, cfg.has_local4 ? cfg.local4 : nullptr, i, cfg.workers, false, res);
    if (r4 < 0) return fail_close();
    // Keepalives leave through worker 0's socket: a socket of their own would receive (and
    // filter away) a copy of every GRE packet, which costs a clone per packet.
    if (i == 0) fp->ka_fd_ = r4;
    int r6 = -1;
    if (cfg.has_local6) {
      r6 = open_raw_gre(6, cfg.local6, i, cfg.workers, false, res);
      if (r6 < 0) {
        ::close(r4);
        return fail_close();
      }
    }
    // Direct transmit: protocol 0, so the socket receives nothing; without it (no
    // CAP_NET_RAW, say) every packet takes the raw socket.
    int pkt = -1;
    if (cfg.direct_tx && (i == 0 || fp->direct_tx_active_)) {
      pkt = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (pkt >= 0) set_bufs(pkt);
      fp->direct_tx_active_ = pkt >= 0;
    }
    uint64_t* slice = fp->counters_.get() + size_t(i) * kSliceSlots;
    fp->workers_.push_back(
        std::make_unique<Worker>(i, fp->tables_.get(), slice, fp->tun_fds_[size_t(i)], r4, r6, pkt, vnet));
  }
  static_assert(kMaxWorkers + 2 <= Epoch::kMaxReaders, "epoch reader slots");
  for (auto& w : fp->workers_) w->start();
  fp->ka_thread_ = std::thread([f = fp.get()] { f->keepalive_loop(); });
  if (fp->direct_tx_active_) fp->paths_thread_ = std::thread([f = fp.get()] { f->paths_loop(); });
  *res = NetResult{};
  return fp;
}

Fastpath::~Fastpath() { close(); }

NetResult Fastpath::set_persistent(bool persist) {
  if (closed_ || tun_fds_.empty()) return NetResult{};
  return tun_set_persist(tun_fds_[0], persist);
}

void Fastpath::close() {
  if (closed_) return;
  closed_ = true;
  stop_.store(true);
  if (ka_thread_.joinable()) ka_thread_.join();
  if (paths_thread_.joinable()) paths_thread_.join();
  for (auto& w : workers_) w->stop();
  workers_.clear();  // each worker closes its raw sockets
  for (int fd : tun_fds_) ::close(fd);
  tun_fds_.clear();
  ka_fd_ = -1;  // worker 0's socket, closed with the worker
}

void Fastpath::keepalive_loop() {
  using clock = std::chrono::steady_clock;
  constexpr auto kTick = std::chrono::milliseconds(50);  // longest sleep: new tunnels start within it
  constexpr auto kMinSleep = std::chrono::milliseconds(10);
  struct Sched {
    uint64_t gen = 0;  // the tunnel object (Tunnel::gen) the schedule belongs to; 0: none
    clock::time_point next{};
    uint32_t missed = 0;
    uint64_t seen_rx = 0;
  };
  std::vector<Sched> sched(kMaxTunnels);
  uint64_t* slice = counters_.get() + size_t(cfg_.workers) * kSliceSlots;
  CounterSlice c{slice};
  uint8_t buf[64];
  const int reader = keepalive_reader();
  Epoch& epoch = tables_->epoch;
  while (!stop_.load()) {
    epoch.online(reader);
    const auto now = clock::now();
    auto wake = now + kTick;
    for (uint32_t i = 0; i < kMaxTunnels; i++) {
      const Tunnel* t = tables_->tunnel(i);
      Sched& s = sched[i];
      if (!t || !t->ka_interval_ms || t->family != 4) {
        s.gen = 0;
        continue;
      }
      TunnelState& st = tables_->state[i];
      if (s.gen != t->gen) {
        s = Sched{t->gen, now, 0, st.ka_rx.load()};
      }
      uint64_t rx = st.ka_rx.load(std::memory_order_relaxed);
      if (rx != s.seen_rx) {
        s.seen_rx = rx;
        s.missed = 0;
        if (!st.up.exchange(true) && cb_) cb_(i, true);
      }
      if (now >= s.next) {
        s.next = now + std::chrono::milliseconds(t->ka_interval_ms);
        if (s.missed >= t->ka_retries && st.up.exchange(false) && cb_) cb_(i, false);
        size_t n = build_keepalive(buf, sizeof(buf), t->local4, t->remote4, true, t->key);
        if (n && sendto(ka_fd_, buf, n, 0, reinterpret_cast<const sockaddr*>(&t->remote_sa), t->remote_sa_len) > 0) {
          c.add(kGKeepaliveTx, 1);
          c.tunnel(i, kTKeepaliveTx, 1);
        }
        s.missed++;
      }
      if (s.next < wake) wake = s.next;
    }
    epoch.offline(reader);
    // Until the earliest keepalive due (at most a tick, at least kMinSleep so that many tunnels
    // in different phases do not cost a scan of the table each): a keepalive leaves at most
    // kMinSleep late instead of up to a tick.
    const auto earliest = now + kMinSleep;
    std::this_thread::sleep_until(wake < earliest ? earliest : wake);
  }
  epoch.offline(reader);
}

// Direct-transmit paths: a periodic round each second, and a round within a tick (50 ms) of a
// change: at most one per 100 ms for neighbours, one per second for routes (a BGP table going
// into the FIB must not cost a route lookup per tunnel per tick). A round may take long (each
// lookup waits for the kernel); nothing else runs on this thread.
void Fastpath::paths_loop() {
  using clock = std::chrono::steady_clock;
  Resolver resolver(ifindex_);
  if (!resolver.ok()) return;
  const int reader = paths_reader();
  Epoch& epoch = tables_->epoch;
  auto next_round = clock::now();
  auto next_event_round = next_round, next_route_round = next_round;
  unsigned pending = 0;
  while (!stop_.load()) {
    auto now = clock::now();
    pending |= resolver.events();
    bool go = true;
    PathRound kind = PathRound::kPeriodic;
    if (now >= next_round)
      kind = PathRound::kPeriodic;
    else if ((pending & Resolver::kEvRoute) && now >= next_route_round)
      kind = PathRound::kRoutes;
    else if ((pending & Resolver::kEvNeigh) && now >= next_event_round)
      kind = PathRound::kNeighbours;
    else
      go = false;
    if (go) {
      epoch.online(reader);
      refresh_paths(resolver, kind);
      epoch.offline(reader);
      epoch.reclaim();  // replaced paths (and whatever else is due); needs this thread offline
      next_event_round = now + std::chrono::milliseconds(100);
      if (kind == PathRound::kNeighbours) {
        pending &= ~unsigned(Resolver::kEvNeigh);
      } else {
        // A periodic round covers what a route round would; either resets the route pacing.
        if (kind == PathRound::kPeriodic) next_round = now + std::chrono::seconds(1);
        next_route_round = now + std::chrono::seconds(1);
        pending = 0;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// One round of direct-transmit paths (nexthop.h):
//   periodic and neighbour rounds first re-check each published path against this round's
//   neighbour dump and devices (a changed MAC or MTU is patched, a failed neighbour or a downed
//   device withdraws the path: the kernel's path takes over and drives resolution);
//   kRoutes then looks up every tunnel's route again (something changed underneath);
//   kPeriodic looks up tunnels without a path first (new, replaced, not resolved yet), then
//   existing ones from a rotating cursor, within a budget of route lookups per round so that
//   10,000 tunnels cost a bounded share of this thread.
// Runs online as epoch reader paths_reader(), with a quiescent point after each kernel lookup
// (pointers to tunnels and paths are loaded afresh in each iteration), so that a long round does
// not hold back every grace period: at most one lookup (<= 0.5 s, the socket timeout) does.
void Fastpath::refresh_paths(Resolver& r, PathRound kind) {
  constexpr uint32_t kBudget = 2048;
  Epoch& epoch = tables_->epoch;
  const int reader = paths_reader();
  r.begin_round(kind == PathRound::kPeriodic);
  // Tunnels that sent packets since the last periodic round (their next hops are kept fresh).
  if (last_tx_.size() != kMaxTunnels) last_tx_.assign(kMaxTunnels, 0);
  std::vector<bool> moved(kMaxTunnels, false);
  for (uint32_t i = 0; i < kMaxTunnels; i++) {
    if (!tables_->tunnel(i)) continue;
    uint64_t sum = 0;
    for (int w = 0; w < cfg_.workers; w++) {
      auto* a = reinterpret_cast<std::atomic<uint64_t>*>(counters_.get() + size_t(w) * kSliceSlots + kGlobalSlots +
                                                         size_t(i) * kTunnelSlots + kTTxPackets);
      sum += a->load(std::memory_order_relaxed);
    }
    moved[i] = sum != last_tx_[i];
    if (kind == PathRound::kPeriodic) last_tx_[i] = sum;
  }
  auto publish = [&](uint32_t i, const L2Path* cur, const L2Path* next) {
    if (!next && !cur) return;
    if (next && cur && cur->same(*next)) return;
    tables_->l2[i].store(next ? new L2Path(*next) : nullptr, std::memory_order_release);
    if (cur) tables_->epoch.retire([cur] { delete cur; });
  };
  auto update = [&](uint32_t i, const Tunnel* t) {
    L2Path p;
    std::string why;
    bool ok = t && r.resolve(*t, &p, moved[i], &why);
    publish(i, tables_->l2[i].load(std::memory_order_relaxed), ok ? &p : nullptr);
    epoch.quiescent(reader);  // t is not used past this point
  };
  // (A route round looks every tunnel up again below, which re-checks its path too.)
  for (uint32_t i = 0; i < kMaxTunnels && kind != PathRound::kRoutes && !stop_.load(); i++) {
    const L2Path* cur = tables_->l2[i].load(std::memory_order_relaxed);
    if (!cur) continue;
    const Tunnel* t = tables_->tunnel(i);
    if (!t || !cur->serves(*t)) continue;  // the passes below replace or clear it
    L2Path p;
    publish(i, cur, r.revalidate(*cur, &p, moved[i]) ? &p : nullptr);
    epoch.quiescent(reader);
  }
  if (kind == PathRound::kNeighbours) return;
  uint32_t spent = 0;
  const uint32_t budget = kind == PathRound::kRoutes ? kMaxTunnels : kBudget;
  for (uint32_t i = 0; i < kMaxTunnels && spent < budget && !stop_.load(); i++) {
    const Tunnel* t = tables_->tunnel(i);
    const L2Path* cur = tables_->l2[i].load(std::memory_order_relaxed);
    if (!t) {
      if (cur) publish(i, cur, nullptr);
      continue;
    }
    if (kind == PathRound::kRoutes || !(cur && cur->serves(*t))) {
      update(i, t);
      spent++;
    }
  }
  if (kind == PathRound::kRoutes) return;
  for (uint32_t n = 0; n < kMaxTunnels && spent < budget && !stop_.load(); n++) {
    uint32_t i = path_cursor_;
    path_cursor_ = (path_cursor_ + 1) % kMaxTunnels;
    const Tunnel* t = tables_->tunnel(i);
    const L2Path* cur = tables_->l2[i].load(std::memory_order_relaxed);
    if (t && cur && cur->serves(*t)) {
      update(i, t);
      spent++;
    }
  }
}

}  // namespace gredge
