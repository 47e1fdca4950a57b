// Packet worker: the per-packet path of issue 4 (ARCHITECTURE.md data flows 1 and 2).
//   encap: TUN read → link-scope multicast (the host's own MLD/IGMP) kept on the link and
//          counted → LPM on the inner destination → tunnel up? → MTU check (ICMP Fragmentation
//          Needed, RFC 1191 / ICMPv6 Packet Too Big, RFC 4443 §3.2, back through the TUN) →
//          MSS clamp → GRE header (RFC 2784, key and sequence RFC 2890) → sendmmsg.
//   decap: recvmmsg → strip outer IPv4 by IHL → GRE parse/verify → tunnel by (source, key) →
//          sequence check (RFC 2890 §2.2) → keepalive reflection → anti-spoofing → MSS clamp → TUN.
// IPv4 packets larger than the tunnel MTU without DF are dropped and counted as "too big"
// rather than fragmented: RFC 4459 §3 discourages tunnel-side fragmentation.
// With TUN offloads (offload.h) a read may be a TCP super-packet: it is cut into wire segments
// first and each goes through encap_one like any packet, so LPM, MTU, MSS clamp and counters
// see wire packets. On decap the inner packets of one recvmmsg batch are coalesced (GRO) and
// written with one TUN write per merged run.
#include "worker.h"

#include <errno.h>
#include <linux/fs.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "gre.h"

namespace gredge {

static const VnetHdr kNoOffload{};

Worker::Worker(int id, Tables* tables, uint64_t* counters, int tun_fd, int raw4, int raw6, int pkt, bool vnet)
    : id_(id), tables_(tables), c_{counters}, tun_fd_(tun_fd), raw4_(raw4), raw6_(raw6), pkt_(pkt), vnet_(vnet) {
  rd_buf_.resize(kVnetHdrLen + 65536);
  arena_.resize(kArena);
  rx_mem_.resize(size_t(kBatch) * kBufSize);
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Worker::~Worker() {
  stop();
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (raw4_ >= 0) ::close(raw4_);
  if (raw6_ >= 0) ::close(raw6_);
  if (pkt_ >= 0) ::close(pkt_);
}

void Worker::start() { thread_ = std::thread([this] { run(); }); }

void Worker::stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof(one));
  thread_.join();
}

void Worker::run() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  auto add = [ep](int fd, uint32_t tag) {
    if (fd < 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = tag;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  };
  add(tun_fd_, 0);
  add(raw4_, 4);
  add(raw6_, 6);
  add(stop_fd_, 99);
  // Created here: the ring is single-issuer, and this thread is its only submitter.
  const char* u = getenv("GREDGE_DATAPLANE_URING");
  if (!(u && u[0] == '0') && uring_.init(kBatch + kWrMax)) {
    rd_bufs_.resize(size_t(kBatch) * rd_buf_.size());
    uring_wr_ = true;
  }
  Epoch& epoch = tables_->epoch;
  bool running = true;
  while (running) {
    epoll_event evs[4];
    epoch.offline(id_);
    int n = epoll_wait(ep, evs, 4, -1);
    epoch.online(id_);
    for (int i = 0; i < n; i++) {
      switch (evs[i].data.u32) {
        case 0:
          encap_batch();
          break;
        case 4:
          decap_batch(raw4_, 4);
          break;
        case 6:
          decap_batch(raw6_, 6);
          break;
        default:
          running = false;
      }
    }
  }
  epoch.offline(id_);
  ::close(ep);
}

// ------------------------------------------------------------------------------------ encap

void Worker::encap_batch() {
  if (!rd_bufs_.empty()) return encap_batch_uring();
  for (int i = 0; i < kBatch; i++) {
    ssize_t r = read(tun_fd_, rd_buf_.data(), rd_buf_.size());
    if (r <= 0) break;
    encap_read(rd_buf_.data(), size_t(r));
  }
  flush_sends();
}

void Worker::encap_batch_uring() {
  const size_t bsz = rd_buf_.size();
  // A few rounds at most, so that the raw sockets get their turn under a TUN flood.
  for (int round = 0; round < 4; round++) {
    unsigned k = 0;
    for (unsigned i = 0; i < ring_k_; i++, k++) {
      io_uring_sqe* e = uring_.get_sqe();
      if (!e) break;  // only after a failed submission: the next one retries it
      e->opcode = IORING_OP_READ;
      e->fd = tun_fd_;
      e->addr = reinterpret_cast<uint64_t>(rd_bufs_.data() + i * bsz);
      e->len = uint32_t(bsz);
      e->user_data = i;
      // Without RWF_NOWAIT io_uring would park a read on an empty queue until a packet comes
      // (and complete reads out of order); with it, each read ends inside this call.
      e->rw_flags = RWF_NOWAIT;
    }
    if (uring_.submit_and_wait(k) < 0) {
      uring_.reap([](uint64_t, int) {});
      break;
    }
    unsigned got = 0;
    bool broken = false;
    uring_.reap([&](uint64_t ud, int res) {
      if (res < 0 && res != -EAGAIN) broken = true;
      if (res <= 0 || ud >= kBatch) return;
      got++;
      encap_read(rd_bufs_.data() + ud * bsz, size_t(res));
    });
    if (broken && !got) {
      // The kernel refuses these reads (no RWF_NOWAIT for TUN, say): plain read() from now on.
      rd_bufs_.clear();
      rd_bufs_.shrink_to_fit();
      break;
    }
    if (got < k) {
      ring_k_ = got * 2 < 8 ? 8 : got * 2 > unsigned(kBatch) ? unsigned(kBatch) : got * 2;
      break;
    }
    ring_k_ = kBatch;
  }
  flush_sends();
}

void Worker::encap_read(uint8_t* buf, size_t r) {
  const size_t hdr = vnet_ ? kVnetHdrLen : 0;
  c_.add(kGTunReads, 1);
  if (r <= hdr) {
    c_.drop(kDropNotIp);
    return;
  }
  uint8_t* pkt = buf + hdr;
  size_t n = r - hdr;
  if (vnet_) {
    VnetHdr h;
    vnet_decode(buf, &h);
    if (h.gso_type != kGsoNone) {
      TsoPlan plan;
      if (!tso_plan(pkt, n, h, &plan)) {
        c_.drop(kDropBadOffload);
        return;
      }
      // Segments too big for the tunnel all fail alike: one Packet Too Big per super-packet.
      gso_ptb_left_ = 1;
      for (uint32_t s = 0; s < plan.nseg; s++) {
        uint8_t* out = tx_slot(plan.hl + plan.gso);
        encap_one(out, tso_segment(pkt, plan, s, out));
      }
      gso_ptb_left_ = -1;
      c_.add(kGTsoSegments, plan.nseg);
      return;
    }
    if (h.flags & kVnetNeedsCsum) {
      if (!csum_complete(pkt, n, h.csum_start, h.csum_offset)) {
        c_.drop(kDropBadOffload);
        return;
      }
      c_.add(kGCsumDone, 1);
    }
  }
  uint8_t* out = tx_slot(n);
  memcpy(out, pkt, n);
  encap_one(out, n);
}

uint8_t* Worker::tx_slot(size_t n) {
  // Every queued message points into the arena, so the arena is reset only by a flush, and a
  // flush happens before the queue could overflow (queue_send never has to flush itself).
  const size_t need = (kHeadroom + n + 63) & ~size_t(63);
  if (arena_used_ + need > arena_.size() || tx_n_[0] == kTxMax || tx_n_[1] == kTxMax || tx_n_[2] == kTxMax)
    flush_sends();
  uint8_t* p = arena_.data() + arena_used_ + kHeadroom;
  arena_used_ += need;
  return p;
}

void Worker::encap_one(uint8_t* pkt, size_t n) {
  int v = ip_version(pkt, n);
  if (!((v == 4 && n >= 20) || (v == 6 && n >= 40))) {
    c_.drop(kDropNotIp);
    return;
  }
  // Before the LPM: link-scope multicast stays on the link even when a default route points
  // into a tunnel. It is not a noRoute drop (it is the host's normal link traffic) and never
  // gets an ICMP error (RFC 1812 §4.3.2.7, RFC 4443 §2.4 (e.3): none about multicast). Costs
  // one compare of a destination byte for every other packet.
  if (link_scope_multicast(pkt, v)) {
    c_.add(kGLinkLocalMcast, 1);
    return;
  }
  const uint32_t idx = v == 4 ? tables_->lpm4.lookup(rd32(pkt + 16)) : tables_->lpm6.lookup(pkt + 24);
  const Tunnel* t = idx == kNoRoute ? nullptr : tables_->tunnel(idx);
  if (!t) {
    c_.drop(kDropNoRoute);
    return;
  }
  TunnelState& st = tables_->state[t->idx];
  if (t->ka_interval_ms && !st.up.load(std::memory_order_relaxed)) {
    c_.tunnel_drop(t->idx, kDropTunnelDown);
    return;
  }
  if (n > t->mtu) {
    bool df = v == 6 || (rd16(pkt + 6) & 0x4000);
    if (df && gso_ptb_left_ != 0) {
      send_ptb(pkt, n, t);
      if (gso_ptb_left_ > 0) gso_ptb_left_--;
    }
    c_.tunnel_drop(t->idx, kDropTooBig);
    return;
  }
  if (t->mss_clamp && mss_clamp(pkt, n, uint16_t(t->mtu - (v == 4 ? 40 : 60)))) {
    c_.add(kGMssClamped, 1);
    c_.tunnel(t->idx, kTMssClamped, 1);
  }
  size_t hl = gre_header_len(t->csum, true, t->seq);
  uint8_t* g = pkt - hl;
  uint32_t seq = t->seq ? st.tx_seq.fetch_add(1, std::memory_order_relaxed) : 0;
  gre_build(g, v == 4 ? kEthIPv4 : kEthIPv6, t->csum, true, t->key, t->seq, seq, hl + n);
  c_.tunnel(t->idx, kTTxPackets, 1);
  c_.tunnel(t->idx, kTTxBytes, n);
  queue_send(t, g, hl + n, pkt, n);
}

void Worker::queue_send(const Tunnel* t, uint8_t* data, size_t n, const uint8_t* inner, size_t inner_len) {
  int f = t->family == 4 ? 0 : 1;
  if (pkt_ >= 0) {
    // Direct transmit when the paths thread has a link-layer path for this tunnel and
    // the packet fits the device; anything else goes through the kernel (which may fragment).
    const L2Path* l2 = tables_->l2[t->idx].load(std::memory_order_acquire);
    const size_t outer = f == 0 ? 20 : 40;
    if (l2 && l2->serves(*t) && n + outer <= l2->mtu) {
      uint8_t* frame = push_outer(*l2, data, n, f == 1 ? inner_flow_label(inner, inner_len) : 0);
      int i = tx_n_[2]++;
      tx_iov_[2][i] = {frame, n + outer + 14};
      msghdr& m = tx_msgs_[2][i].msg_hdr;
      m = {};
      // The path object, like the tunnel, stays valid until this worker's next quiescent point.
      m.msg_name = const_cast<sockaddr_ll*>(&l2->sll);
      m.msg_namelen = sizeof(l2->sll);
      m.msg_iov = &tx_iov_[2][i];
      m.msg_iovlen = 1;
      return;
    }
  }
  if ((f == 0 && raw4_ < 0) || (f == 1 && raw6_ < 0)) {
    c_.tunnel_drop(t->idx, kDropSend);
    return;
  }
  int i = tx_n_[f]++;
  tx_iov_[f][i] = {data, n};
  msghdr& m = tx_msgs_[f][i].msg_hdr;
  m = {};
  // The tunnel object stays valid until this worker's next quiescent point, after the flush.
  m.msg_name = const_cast<sockaddr_storage*>(&t->remote_sa);
  m.msg_namelen = t->remote_sa_len;
  m.msg_iov = &tx_iov_[f][i];
  m.msg_iovlen = 1;
}

void Worker::flush_sends() {
  for (int f = 0; f < kQueues; f++) {
    int fd = f == 0 ? raw4_ : f == 1 ? raw6_ : pkt_;
    int off = 0;
    while (off < tx_n_[f]) {
      int r = sendmmsg(fd, tx_msgs_[f] + off, unsigned(tx_n_[f] - off), 0);
      c_.add(kGSendCalls, 1);
      if (r > 0) {
        for (int i = off; i < off + r; i++) {
          // Bytes of GRE packets on every path: a direct frame also carries Ethernet + outer IP.
          size_t len = tx_iov_[f][i].iov_len;
          if (f == 2) len -= 14 + (static_cast<const uint8_t*>(tx_iov_[f][i].iov_base)[12] == 0x08 ? 20 : 40);
          c_.add(kGTxBytes, len);
        }
        c_.add(kGTxPackets, uint64_t(r));
        if (f == 2) c_.add(kGDirectTx, uint64_t(r));
        off += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      // The first message of the remainder failed (buffer full, unreachable, too big): drop it
      // and carry on with the rest.
      c_.drop(kDropSend);
      off++;
    }
    tx_n_[f] = 0;
  }
  arena_used_ = 0;
}

void Worker::send_ptb(const uint8_t* pkt, size_t n, const Tunnel* t) {
  // The error enters the kernel through the TUN, as if from the tunnel side; a source that is a
  // local address of this host would be dropped as a martian. The original destination routes
  // via the TUN (so reverse-path filters accept it), and PMTUD keys on the quoted header, not on
  // the ICMP source.
  const int v = pkt[0] >> 4;
  const uint8_t* src = v == 4 ? pkt + 16 : pkt + 24;
  size_t len = build_ptb(pkt, n, t->mtu, src, scratch_, sizeof(scratch_));
  if (!len) return;
  tun_write_now(vnet_ ? &kNoOffload : nullptr, scratch_, len);  // scratch_ is reused: not queued
  c_.add(kGPtbSent, 1);
  c_.tunnel(t->idx, kTPtbSent, 1);
}

void Worker::tun_write(const uint8_t* p, size_t n) {
  if (vnet_) return tun_write_hdr(VnetHdr{}, p, n);
  if (!uring_wr_) return tun_write_now(nullptr, p, n);
  if (wr_n_ == kWrMax) flush_tun_writes();
  WrSlot& w = wr_[wr_n_++];
  w.iov[0] = {const_cast<uint8_t*>(p), n};
}

void Worker::tun_write_hdr(const VnetHdr& h, const uint8_t* p, size_t n) {
  if (!uring_wr_) return tun_write_now(&h, p, n);
  if (wr_n_ == kWrMax) flush_tun_writes();
  WrSlot& w = wr_[wr_n_++];
  vnet_encode(h, w.vh);
  w.iov[0] = {w.vh, sizeof(w.vh)};
  w.iov[1] = {const_cast<uint8_t*>(p), n};
}

void Worker::tun_write_now(const VnetHdr* h, const uint8_t* p, size_t n) {
  c_.add(kGTunWrites, 1);
  if (!h) {
    if (write(tun_fd_, p, n) < 0) c_.drop(kDropTunWrite);
    return;
  }
  uint8_t vh[kVnetHdrLen];
  vnet_encode(*h, vh);
  iovec iov[2] = {{vh, sizeof(vh)}, {const_cast<uint8_t*>(p), n}};
  if (writev(tun_fd_, iov, 2) < 0) c_.drop(kDropTunWrite);
}

void Worker::flush_tun_writes() {
  if (!wr_n_) return;
  int n = wr_n_;
  wr_n_ = 0;
  c_.add(kGTunWrites, uint64_t(n));
  for (int i = 0; i < n; i++) {
    io_uring_sqe* e = uring_.get_sqe();
    if (!e) {
      // Only after a failed submission: write the rest directly rather than lose them.
      for (int j = i; j < n; j++)
        if (writev(tun_fd_, wr_[j].iov, vnet_ ? 2 : 1) < 0) c_.drop(kDropTunWrite);
      n = i;
      break;
    }
    e->opcode = IORING_OP_WRITEV;
    e->fd = tun_fd_;
    e->addr = reinterpret_cast<uint64_t>(wr_[i].iov);
    e->len = vnet_ ? 2 : 1;
    e->user_data = uint64_t(kBatch + i);
  }
  // A TUN write never waits for room (a full backlog drops), so all complete in this call.
  if (n && uring_.submit_and_wait(unsigned(n)) < 0) {
    for (int i = 0; i < n; i++) c_.drop(kDropTunWrite);
  }
  uring_.reap([&](uint64_t, int res) {
    if (res < 0) c_.drop(kDropTunWrite);
  });
}

void Worker::flush_gro() {
  for (int i = 0; i < gro_.size(); i++) {
    VnetHdr h;
    gro_.finish(i, &h);
    tun_write_hdr(h, gro_.item(i).ip, gro_.item(i).len);
  }
  gro_.reset();
  uint64_t m = gro_.merged();
  c_.add(kGGroMerged, m - gro_merged_seen_);
  gro_merged_seen_ = m;
}

// ------------------------------------------------------------------------------------ decap

void Worker::decap_batch(int fd, int family) {
  for (int i = 0; i < kBatch; i++) {
    rx_iov_[i] = {rx_mem_.data() + size_t(i) * kBufSize, kBufSize};
    msghdr& m = rx_msgs_[i].msg_hdr;
    m = {};
    m.msg_iov = &rx_iov_[i];
    m.msg_iovlen = 1;
    m.msg_name = &rx_names_[i];
    m.msg_namelen = sizeof(rx_names_[i]);
  }
  int n = recvmmsg(fd, rx_msgs_, kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return;
  c_.add(kGRecvCalls, 1);
  for (int i = 0; i < n; i++) {
    uint8_t* p = static_cast<uint8_t*>(rx_iov_[i].iov_base);
    size_t len = rx_msgs_[i].msg_len;
    if (rx_msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) {
      c_.drop(kDropShort);
      continue;
    }
    if (family == 4) {
      // IPv4 raw sockets deliver the outer header: strip it by IHL, take the source from it.
      if (len < 20 || (p[0] >> 4) != 4 || size_t(p[0] & 0xf) * 4 < 20 || size_t(p[0] & 0xf) * 4 > len) {
        c_.drop(kDropShort);
        continue;
      }
      size_t ihl = size_t(p[0] & 0xf) * 4;
      size_t tot = rd16(p + 2);
      if (tot < ihl || tot > len) {
        c_.drop(kDropShort);
        continue;
      }
      decap_one(p + ihl, tot - ihl, 4, p + 12, kBufSize - ihl);
    } else {
      auto* sa = reinterpret_cast<sockaddr_in6*>(&rx_names_[i]);
      decap_one(p, len, 6, sa->sin6_addr.s6_addr, kBufSize);
    }
  }
  if (vnet_) flush_gro();
  flush_tun_writes();
}

void Worker::decap_one(uint8_t* g, size_t n, int family, const uint8_t* src, size_t cap) {
  c_.add(kGRxPackets, 1);
  c_.add(kGRxBytes, n);
  GreHeader h;
  switch (gre_parse(g, n, &h)) {
    case GreStatus::kOk:
      break;
    case GreStatus::kShort:
      c_.drop(kDropShort);
      return;
    case GreStatus::kBadFlags:
      c_.drop(kDropBadFlags);
      return;
    case GreStatus::kBadChecksum:
      c_.drop(kDropBadChecksum);
      return;
  }
  uint32_t reason = 0;
  const Tunnel* t = tables_->decap_lookup(family, src, h.key_present, h.key, &reason);
  if (!t) {
    c_.drop(reason);
    return;
  }
  TunnelState& st = tables_->state[t->idx];
  if (t->seq) {
    // With sequencing on, packets without a number or out of order are dropped (RFC 2890 §2.2).
    uint32_t last = st.rx_seq.load(std::memory_order_relaxed);
    if (!h.seq_present || (st.rx_seq_valid.load(std::memory_order_relaxed) && !seq_after(h.seq, last))) {
      c_.tunnel_drop(t->idx, kDropSequence);
      return;
    }
    st.rx_seq.store(h.seq, std::memory_order_relaxed);
    st.rx_seq_valid.store(true, std::memory_order_relaxed);
  }
  uint8_t* ip = g + h.len;
  size_t len = n - h.len;
  if (h.proto == 0) {
    // A keepalive of ours coming back (Cisco keepalives carry protocol type 0).
    st.ka_rx.fetch_add(1, std::memory_order_relaxed);
    c_.add(kGKeepaliveRx, 1);
    c_.tunnel(t->idx, kTKeepaliveRx, 1);
    return;
  }
  if ((h.proto != kEthIPv4 && h.proto != kEthIPv6) || !ip_header_ok(ip, len) ||
      ip_version(ip, len) != (h.proto == kEthIPv4 ? 4 : 6)) {
    c_.tunnel_drop(t->idx, kDropNotIp);
    return;
  }
  const int v = ip[0] >> 4;
  len = v == 4 ? rd16(ip + 2) : size_t(rd16(ip + 4)) + 40;  // drop link padding
  if (v == 4 && t->family == 4 && ip[9] == kProtoGre) {
    size_t off = keepalive_request_payload(ip, len, t->local4, t->remote4);
    if (off && raw4_ >= 0) {
      // Reflect the far end's keepalive: send the inner GRE payload back to it.
      (void)!sendto(raw4_, ip + off, len - off, 0, reinterpret_cast<const sockaddr*>(&t->remote_sa),
                    t->remote_sa_len);
      c_.add(kGKeepaliveReflected, 1);
      c_.tunnel(t->idx, kTKeepaliveReflected, 1);
      return;
    }
  }
  const uint8_t* isrc = v == 4 ? ip + 12 : ip + 8;
  bool allowed = false;
  for (const Prefix& p : t->allowed)
    if (prefix_contains(p, isrc, v)) {
      allowed = true;
      break;
    }
  if (!allowed) {
    c_.tunnel_drop(t->idx, kDropSpoofed);
    return;
  }
  if (t->mss_clamp && mss_clamp(ip, len, uint16_t(t->mtu - (v == 4 ? 40 : 60)))) {
    c_.add(kGMssClamped, 1);
    c_.tunnel(t->idx, kTMssClamped, 1);
  }
  c_.tunnel(t->idx, kTRxPackets, 1);
  c_.tunnel(t->idx, kTRxBytes, len);
  if (!vnet_) return tun_write(ip, len);
  if (!gro_.add(ip, len, cap - size_t(ip - g))) {
    flush_gro();
    gro_.add(ip, len, cap - size_t(ip - g));
  }
}

}  // namespace gredge
