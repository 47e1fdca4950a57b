#include "fib_writer.h"

#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gredge {
namespace {

// Enough for ~1,500 route messages per sendmsg(); the socket's send buffer is raised above it.
constexpr size_t kTxBytes = 128 * 1024;
// Every message of a send can fail: 1,500 capped errors with extended-ack text stay far below.
constexpr int kSockBuf = 4 * 1024 * 1024;
constexpr size_t kRxBytes = 256 * 1024;
// The longest message encode() writes is ~120 bytes.
constexpr size_t kMaxMsg = 256;
// The writer thread's nice value (see run()).
constexpr int kWriterNice = 10;

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

uint32_t rd32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;  // the records are little-endian, as is every machine this builds for
}

void wr32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }

void put(nlmsghdr* h, uint16_t type, const void* data, size_t len) {
  auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<uint8_t*>(h) + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = uint16_t(RTA_LENGTH(len));
  if (len) memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = uint32_t(NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len));
}

void put32(nlmsghdr* h, uint16_t type, uint32_t v) { put(h, type, &v, 4); }

size_t addr_len(int family) { return family == 4 ? 4 : 16; }

int af(int family) { return family == 4 ? AF_INET : AF_INET6; }

template <typename Fn>
void attrs(const nlmsghdr* m, size_t hdr, Fn fn) {
  if (m->nlmsg_len < NLMSG_LENGTH(hdr)) return;
  const auto* base = static_cast<const uint8_t*>(NLMSG_DATA(m));
  int left = int(m->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(hdr)));
  for (auto* a = reinterpret_cast<const rtattr*>(base + NLMSG_ALIGN(hdr)); RTA_OK(a, left); a = RTA_NEXT(a, left))
    fn(uint16_t(a->rta_type & NLA_TYPE_MASK), static_cast<const uint8_t*>(RTA_DATA(a)), size_t(RTA_PAYLOAD(a)));
}

// The extended-ack text (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR, if the kernel gave one.
std::string ext_ack_msg(const nlmsghdr* m) {
  if (!(m->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(m));
  size_t off = sizeof(nlmsgerr);
  if (!(m->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof(nlmsghdr);
  size_t total = m->nlmsg_len - NLMSG_HDRLEN;
  if (off >= total) return {};
  const auto* p = static_cast<const uint8_t*>(NLMSG_DATA(m)) + NLMSG_ALIGN(off);
  int left = int(total - NLMSG_ALIGN(off));
  for (auto* a = reinterpret_cast<const rtattr*>(p); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
    if ((a->rta_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && RTA_PAYLOAD(a) > 0) {
      const char* s = static_cast<const char*>(RTA_DATA(a));
      return std::string(s, strnlen(s, RTA_PAYLOAD(a)));
    }
  }
  return {};
}

}  // namespace

std::unique_ptr<FibWriter> FibWriter::open(uint8_t protocol, Done done, std::string* err) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    *err = std::string("rtnetlink socket: ") + strerror(errno);
    return nullptr;
  }
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    *err = std::string("rtnetlink bind: ") + strerror(errno);
    ::close(fd);
    return nullptr;
  }
  int size = kSockBuf;
  // FORCE needs CAP_NET_ADMIN, which writing routes needs anyway; without it, ask politely.
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  int one = 1;
  // Errors echo only the failed message's header, with the kernel's own words about why.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  // Dumps filtered by the kernel (table, protocol) instead of every route of the box.
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
  // The kernel answers a send before sendmsg() returns; a reply that never comes is a bug
  // somewhere, and the writer must not hang on it forever.
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return std::unique_ptr<FibWriter>(new FibWriter(fd, protocol, std::move(done)));
}

FibWriter::FibWriter(int fd, uint8_t protocol, Done done)
    : fd_(fd), protocol_(protocol), done_(std::move(done)), tx_(kTxBytes + kMaxMsg), rx_(kRxBytes) {
  thread_ = std::thread([this] { run(); });
}

FibWriter::~FibWriter() { close(); }

void FibWriter::submit(FibJob* job) {
  {
    std::lock_guard<std::mutex> g(mu_);
    queue_.push_back(job);
  }
  cv_.notify_one();
}

void FibWriter::close() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FibWriter::run() {
  // BGP first: the kernel bills every route insert to this thread (seconds of system time for
  // a full table), and on a small box that time would come out of the event loop's core and
  // the neighbors' sessions. Niced, the writer takes the cycles nobody else wants.
  setpriority(PRIO_PROCESS, pid_t(syscall(SYS_gettid)), kWriterNice);
  for (;;) {
    FibJob* job;
    {
      std::unique_lock<std::mutex> g(mu_);
      cv_.wait(g, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      job = queue_.front();
      queue_.pop_front();
    }
    switch (job->kind) {
      case FibJob::kWrite:
        write(job);
        break;
      case FibJob::kDumpRoutes:
        dump_routes(job);
        break;
      case FibJob::kDumpRules:
        dump_rules(job);
        break;
    }
    done_(job);
  }
}

size_t FibWriter::encode(const uint8_t* r, uint8_t* buf, size_t room, uint32_t seq, bool ack) const {
  if (room < kMaxMsg) return 0;
  const uint8_t op = r[0], family = r[1], dlen = r[2], gwf = r[3] & kFibGwMask, flags = r[3] & ~kFibGwMask;
  const uint32_t table = rd32(r + 4), oif = rd32(r + 8), prio = rd32(r + 12);
  const uint8_t* dst = r + 16;
  const uint8_t* gw = r + 32;
  if ((family != 4 && family != 6) || dlen > (family == 4 ? 32 : 128)) return 0;
  memset(buf, 0, kMaxMsg);
  auto* h = reinterpret_cast<nlmsghdr*>(buf);
  h->nlmsg_seq = seq;
  const uint16_t ackf = ack ? NLM_F_ACK : 0;
  if (op == kFibRouteSet || op == kFibRouteDel) {
    if (table == 0 || (op == kFibRouteSet && gwf != 0 && gwf != 4 && gwf != 6)) return 0;
    if ((flags & kFibPrefsrc) && gwf) return 0;  // the gw field holds one or the other
    h->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
    auto* rt = static_cast<rtmsg*>(NLMSG_DATA(h));
    rt->rtm_family = uint8_t(af(family));
    rt->rtm_dst_len = dlen;
    rt->rtm_table = table < 256 ? uint8_t(table) : uint8_t(RT_TABLE_UNSPEC);
    rt->rtm_protocol = protocol_;
    put32(h, RTA_TABLE, table);
    if (dlen > 0) put(h, RTA_DST, dst, addr_len(family));
    if (op == kFibRouteDel) {
      // Any scope, any type; the protocol makes sure it is ours that goes.
      h->nlmsg_type = RTM_DELROUTE;
      h->nlmsg_flags = uint16_t(NLM_F_REQUEST | ackf);
      rt->rtm_scope = RT_SCOPE_NOWHERE;
      if (prio) put32(h, RTA_PRIORITY, prio);
      return h->nlmsg_len;
    }
    h->nlmsg_type = RTM_NEWROUTE;
    h->nlmsg_flags = uint16_t(NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | ackf);
    rt->rtm_type = (oif || gwf) ? RTN_UNICAST : RTN_UNREACHABLE;
    rt->rtm_scope = (family == 4 && oif && !gwf) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    if (oif) put32(h, RTA_OIF, oif);
    if (gwf == family) {
      put(h, RTA_GATEWAY, gw, addr_len(family));
    } else if (gwf) {
      // RFC 8950: an IPv4 route with an IPv6 next hop (or the reverse) goes as RTA_VIA.
      uint8_t via[2 + 16];
      uint16_t vf = uint16_t(af(gwf));
      memcpy(via, &vf, 2);
      memcpy(via + 2, gw, addr_len(gwf));
      put(h, RTA_VIA, via, 2 + addr_len(gwf));
    }
    if (flags & kFibPrefsrc) put(h, RTA_PREFSRC, gw, addr_len(family));
    if (flags & kFibMtu) {
      // RTA_METRICS nests rtattrs: { RTAX_MTU: u32 }.
      alignas(rtattr) uint8_t nested[RTA_SPACE(sizeof(uint32_t))];
      auto* m = reinterpret_cast<rtattr*>(nested);
      m->rta_type = RTAX_MTU;
      m->rta_len = uint16_t(RTA_LENGTH(sizeof(uint32_t)));
      memcpy(RTA_DATA(m), &prio, sizeof(prio));
      put(h, RTA_METRICS, nested, m->rta_len);
    } else if (prio) {
      put32(h, RTA_PRIORITY, prio);
    }
    return h->nlmsg_len;
  }
  if (op == kFibRuleAdd || op == kFibRuleDel) {
    h->nlmsg_len = NLMSG_LENGTH(sizeof(fib_rule_hdr));
    h->nlmsg_type = op == kFibRuleAdd ? RTM_NEWRULE : RTM_DELRULE;
    // EXCL: without it the kernel happily adds a second identical rule.
    h->nlmsg_flags = uint16_t(NLM_F_REQUEST | ackf | (op == kFibRuleAdd ? NLM_F_CREATE | NLM_F_EXCL : 0));
    auto* fr = static_cast<fib_rule_hdr*>(NLMSG_DATA(h));
    fr->family = uint8_t(af(family));
    fr->src_len = dlen;
    fr->action = table ? FR_ACT_TO_TBL : FR_ACT_UNREACHABLE;
    fr->table = table && table < 256 ? uint8_t(table) : uint8_t(RT_TABLE_UNSPEC);
    put32(h, FRA_PRIORITY, prio);
    if (table) put32(h, FRA_TABLE, table);
    // "Routes no more specific than /N in this table do not count": main without its default.
    if (oif) put32(h, FRA_SUPPRESS_PREFIXLEN, oif - 1);
    if (dlen > 0) put(h, FRA_SRC, dst, addr_len(family));
    size_t n = strnlen(reinterpret_cast<const char*>(gw), 16);
    if (n >= IFNAMSIZ) return 0;
    if (n > 0) {
      char name[IFNAMSIZ] = {};
      memcpy(name, gw, n);
      put(h, FRA_IIFNAME, name, n + 1);
    }
    put(h, FRA_PROTOCOL, &protocol_, 1);
    return h->nlmsg_len;
  }
  return 0;
}

void FibWriter::write(FibJob* job) {
  const size_t n = job->input_len / kFibRecord;
  job->results.assign(n, 0);
  const uint32_t seq0 = seq_;
  seq_ += uint32_t(n) + 1;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  size_t i = 0;
  while (i < n) {
    size_t off = 0, first = i, last_msg = 0;
    bool any = false;
    for (; i < n && off < kTxBytes; i++) {
      size_t len = encode(job->input + i * kFibRecord, tx_.data() + off, tx_.size() - off, seq0 + uint32_t(i), false);
      if (len == 0) {
        job->results[i] = EINVAL;
        continue;
      }
      last_msg = off;
      any = true;
      off += NLMSG_ALIGN(len);
    }
    if (!any) continue;
    auto* last = reinterpret_cast<nlmsghdr*>(tx_.data() + last_msg);
    last->nlmsg_flags |= NLM_F_ACK;
    ssize_t sent;
    do sent = sendto(fd_, tx_.data(), off, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
    while (sent < 0 && errno == EINTR);
    int rc = sent < 0 ? errno : collect(job, seq0 + uint32_t(first), last->nlmsg_seq, first);
    if (rc) {
      // Which messages failed is unknown: every one of this send is reported with the error
      // (replace and delete are idempotent, so the caller may simply send them again).
      for (size_t k = first; k < i; k++)
        if (job->results[k] == 0) job->results[k] = rc;
    }
  }
}

int FibWriter::collect(FibJob* job, uint32_t first, uint32_t last, size_t base) {
  int lost = 0;
  for (;;) {
    ssize_t got = recv(fd_, rx_.data(), rx_.size(), 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // ENOBUFS: replies were dropped; keep reading up to the final ack, then report.
      if (errno == ENOBUFS) {
        lost = ENOBUFS;
        continue;
      }
      return errno == EAGAIN ? ETIMEDOUT : errno;
    }
    int left = int(got);
    for (auto* m = reinterpret_cast<nlmsghdr*>(rx_.data()); NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
      if (m->nlmsg_type != NLMSG_ERROR) continue;
      const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(m));
      uint32_t seq = m->nlmsg_seq;
      if (seq < first || seq > last) continue;  // a late reply to an earlier send
      size_t idx = base + (seq - first);
      if (e->error != 0 && idx < job->results.size()) {
        int err = -e->error;
        job->results[idx] = err;
        bool seen = std::any_of(job->messages.begin(), job->messages.end(),
                                [err](const auto& p) { return p.first == err; });
        if (!seen) job->messages.emplace_back(err, ext_ack_msg(m));
      }
      if (seq == last) return lost;
    }
  }
}

int FibWriter::dump(FibJob* job, uint16_t type, const void* body, size_t body_len,
                    const std::function<void(const nlmsghdr*)>& each) {
  for (int attempt = 0; attempt < 3; attempt++) {
    alignas(nlmsghdr) uint8_t req[256] = {};
    auto* h = reinterpret_cast<nlmsghdr*>(req);
    h->nlmsg_len = uint32_t(NLMSG_LENGTH(body_len));
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    h->nlmsg_seq = seq_++;
    memcpy(NLMSG_DATA(h), body, body_len);
    if (type == RTM_GETROUTE && !job->tables.empty() && job->tables.size() == 1) put32(h, RTA_TABLE, job->tables[0]);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, req, h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) return errno;
    size_t mark = job->records.size();
    bool interrupted = false;
    for (bool done = false; !done;) {
      ssize_t got = recv(fd_, rx_.data(), rx_.size(), 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        return errno == EAGAIN ? ETIMEDOUT : errno;
      }
      int left = int(got);
      for (auto* m = reinterpret_cast<nlmsghdr*>(rx_.data()); NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
        if (m->nlmsg_seq != h->nlmsg_seq) continue;
        if (m->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m->nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
        if (m->nlmsg_type == NLMSG_ERROR) {
          int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(m))->error;
          if (err) return err;
          continue;
        }
        each(m);
      }
    }
    // The table changed during the dump: what was read may be inconsistent, read it again.
    if (!interrupted) return 0;
    job->records.resize(mark);
  }
  return EAGAIN;
}

void FibWriter::dump_routes(FibJob* job) {
  rtmsg rt{};
  rt.rtm_family = uint8_t(af(job->family));
  rt.rtm_protocol = protocol_;
  if (job->tables.size() == 1) rt.rtm_table = job->tables[0] < 256 ? uint8_t(job->tables[0]) : uint8_t(RT_TABLE_UNSPEC);
  job->error = dump(job, RTM_GETROUTE, &rt, sizeof(rt), [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWROUTE) return;
    const auto* r = static_cast<const rtmsg*>(NLMSG_DATA(m));
    // The kernel filters when it can; check again (older kernels ignore the filter).
    if (r->rtm_protocol != protocol_ || r->rtm_family != af(job->family)) return;
    uint8_t rec[kFibRecord] = {};
    rec[0] = kFibRouteSet;
    rec[1] = uint8_t(job->family);
    rec[2] = r->rtm_dst_len;
    uint32_t table = r->rtm_table;
    attrs(m, sizeof(rtmsg), [&](uint16_t type, const uint8_t* d, size_t len) {
      if (type == RTA_TABLE && len == 4) table = rd32(d);
      else if (type == RTA_OIF && len == 4) wr32(rec + 8, rd32(d));
      else if (type == RTA_PRIORITY && len == 4) wr32(rec + 12, rd32(d));
      else if (type == RTA_DST && len == addr_len(job->family)) memcpy(rec + 16, d, len);
      else if (type == RTA_GATEWAY && len == addr_len(job->family)) {
        rec[3] = uint8_t(job->family);
        memcpy(rec + 32, d, len);
      } else if (type == RTA_VIA && len >= 2 + 4) {
        uint16_t vf;
        memcpy(&vf, d, 2);
        size_t al = vf == AF_INET ? 4 : 16;
        if (len >= 2 + al) {
          rec[3] = vf == AF_INET ? 4 : 6;
          memcpy(rec + 32, d + 2, al);
        }
      }
    });
    if (std::find(job->tables.begin(), job->tables.end(), table) == job->tables.end()) return;
    wr32(rec + 4, table);
    job->records.insert(job->records.end(), rec, rec + kFibRecord);
  });
}

void FibWriter::dump_rules(FibJob* job) {
  fib_rule_hdr fr{};
  fr.family = uint8_t(af(job->family));
  job->error = dump(job, RTM_GETRULE, &fr, sizeof(fr), [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWRULE) return;
    const auto* h = static_cast<const fib_rule_hdr*>(NLMSG_DATA(m));
    if (h->family != af(job->family)) return;
    uint8_t rec[kFibRecord] = {};
    rec[0] = kFibRuleAdd;
    rec[1] = uint8_t(job->family);
    rec[2] = h->src_len;
    uint32_t table = h->table;
    int proto = -1;
    attrs(m, sizeof(fib_rule_hdr), [&](uint16_t type, const uint8_t* d, size_t len) {
      if (type == FRA_PROTOCOL && len == 1) proto = d[0];
      else if (type == FRA_TABLE && len == 4) table = rd32(d);
      else if (type == FRA_PRIORITY && len == 4) wr32(rec + 12, rd32(d));
      else if (type == FRA_SUPPRESS_PREFIXLEN && len == 4 && rd32(d) != 0xffffffffu) wr32(rec + 8, rd32(d) + 1);
      else if (type == FRA_SRC && len == addr_len(job->family)) memcpy(rec + 16, d, len);
      else if (type == FRA_IIFNAME && len > 0) memcpy(rec + 32, d, std::min<size_t>(strnlen(reinterpret_cast<const char*>(d), len), 15));
    });
    if (proto != protocol_) return;
    if (h->action == FR_ACT_TO_TBL) wr32(rec + 4, table);
    else if (h->action != FR_ACT_UNREACHABLE) return;  // never one of ours
    job->records.insert(job->records.end(), rec, rec + kFibRecord);
  });
}

}  // namespace gredge
