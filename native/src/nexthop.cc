// Link-layer paths for direct transmit (see nexthop.h), read from the kernel over rtnetlink.
#include "nexthop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "nl_msg.h"
#include "tables.h"

namespace gredge {

namespace {

uint8_t read_sysctl_u8(const char* path, uint8_t dflt) {
  FILE* f = fopen(path, "r");
  if (!f) return dflt;
  unsigned v = 0;
  bool ok = fscanf(f, "%u", &v) == 1 && v > 0 && v < 256;
  fclose(f);
  return ok ? uint8_t(v) : dflt;
}

constexpr uint16_t kUsable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;

}  // namespace

bool L2Path::same(const L2Path& o) const {
  return family == o.family && memcmp(remote, o.remote, 16) == 0 && memcmp(local, o.local, 16) == 0 &&
         memcmp(src, o.src, 16) == 0 && memcmp(nh, o.nh, 16) == 0 && mtu == o.mtu && hop_limit == o.hop_limit &&
         memcmp(eth, o.eth, 14) == 0 && sll.sll_ifindex == o.sll.sll_ifindex;
}

bool L2Path::serves(const Tunnel& t) const {
  size_t alen = t.family == 4 ? 4 : 16;
  return family == t.family && memcmp(remote, t.remote, alen) == 0 && memcmp(local, t.local, alen) == 0;
}

bool Resolver::NeighKey::operator==(const NeighKey& o) const {
  return family == o.family && ifindex == o.ifindex && memcmp(addr, o.addr, 16) == 0;
}

size_t Resolver::NeighKeyHash::operator()(const NeighKey& k) const {
  uint64_t h = 1469598103934665603ull ^ uint64_t(k.family) ^ (uint64_t(uint32_t(k.ifindex)) << 8);
  for (uint8_t b : k.addr) h = (h ^ b) * 1099511628211ull;
  return size_t(h);
}

Resolver::Resolver(int ignore_oif) : ignore_oif_(ignore_oif), buf_(65536) {
  auto open_nl = [](uint32_t groups) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (groups ? SOCK_NONBLOCK : 0), NETLINK_ROUTE);
    if (fd < 0) return -1;
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = groups;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  };
  fd_ = open_nl(0);
  if (fd_ < 0) return;
  // A lost reply must not hold the paths thread (and every grace period, see refresh_paths) long.
  timeval tv{0, 500000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  // Without notifications the periodic round still converges, only more slowly.
  ev_fd_ = open_nl(RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR |
                   RTMGRP_IPV6_IFADDR);
  int sz = 4 << 20;  // bursts of route changes (a BGP table into the FIB) must not overflow it
  if (ev_fd_ >= 0 && setsockopt(ev_fd_, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(ev_fd_, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

Resolver::~Resolver() {
  if (fd_ >= 0) ::close(fd_);
  if (ev_fd_ >= 0) ::close(ev_fd_);
}

template <typename Fn>
int Resolver::transact(void* req, size_t len, Fn fn) {
  auto* h = static_cast<nlmsghdr*>(req);
  h->nlmsg_seq = ++seq_;
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (sendto(fd_, req, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) return errno;
  for (;;) {
    ssize_t n = recv(fd_, buf_.data(), buf_.size(), 0);
    if (n < 0) return errno == EAGAIN ? ETIMEDOUT : errno;
    size_t left = size_t(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(buf_.data()); NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
      if (m->nlmsg_seq != seq_) continue;  // a late answer to an earlier, timed-out request
      if (m->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(m));
        return -e->error;
      }
      if (m->nlmsg_type == NLMSG_DONE) return 0;
      fn(m);
      if (!(m->nlmsg_flags & NLM_F_MULTI)) return 0;
    }
  }
}

unsigned Resolver::events() {
  if (ev_fd_ < 0) return 0;
  unsigned ev = 0;
  for (;;) {
    ssize_t n = recv(ev_fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ENOBUFS) ev |= kEvNeigh | kEvRoute;  // notifications were lost
      if (errno == EINTR || errno == ENOBUFS) continue;
      return ev;
    }
    size_t left = size_t(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(buf_.data()); NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
      if (m->nlmsg_type == RTM_NEWNEIGH || m->nlmsg_type == RTM_DELNEIGH) {
        ev |= kEvNeigh;
      } else if (m->nlmsg_type == RTM_NEWROUTE || m->nlmsg_type == RTM_DELROUTE) {
        uint32_t oif = 0;
        each_attr(m, sizeof(rtmsg), [&](uint16_t at, const uint8_t* d, size_t len) {
          if (at == RTA_OIF && len == 4) memcpy(&oif, d, 4);
        });
        if (!ignore_oif_ || oif != uint32_t(ignore_oif_)) ev |= kEvRoute;
      } else {
        ev |= kEvRoute;  // addresses (preferred sources) and devices
      }
    }
  }
}

void Resolver::begin_round(bool keepalive) {
  keepalive_ = keepalive;
  links_.clear();
  neighs_.clear();
  ttl4_ = read_sysctl_u8("/proc/sys/net/ipv4/ip_default_ttl", 64);
  dump_neighbours(4);
  dump_neighbours(6);
}

void Resolver::dump_neighbours(int family) {
  NlReq r;
  auto* nd = r.body<ndmsg>(RTM_GETNEIGH, NLM_F_DUMP);
  nd->ndm_family = uint8_t(family == 4 ? AF_INET : AF_INET6);
  const size_t alen = family == 4 ? 4 : 16;
  (void)transact(r.buf, r.h()->nlmsg_len, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWNEIGH) return;
    auto* got = static_cast<const ndmsg*>(NLMSG_DATA(m));
    NeighKey k{family, got->ndm_ifindex, {}};
    Neigh v;
    v.state = got->ndm_state;
    bool has_dst = false;
    each_attr(m, sizeof(ndmsg), [&](uint16_t type, const uint8_t* d, size_t n) {
      if (type == NDA_DST && n == alen) {
        memcpy(k.addr, d, alen);
        has_dst = true;
      } else if (type == NDA_LLADDR && n == 6) {
        memcpy(v.mac, d, 6);
        v.has_mac = true;
      }
    });
    if (has_dst) neighs_[k] = v;
  });
}

void Resolver::use(const NeighKey& k) {
  // Moves a stale entry through the kernel's own probes (DELAY, PROBE, then REACHABLE or
  // FAILED), as a packet sent through the kernel would.
  NlReq r;
  auto* nd = r.body<ndmsg>(RTM_NEWNEIGH, NLM_F_ACK);
  nd->ndm_family = uint8_t(k.family == 4 ? AF_INET : AF_INET6);
  nd->ndm_ifindex = k.ifindex;
  nd->ndm_state = NUD_NONE;
  nd->ndm_flags = NTF_USE;
  r.attr(NDA_DST, k.addr, k.family == 4 ? 4 : 16);
  (void)transact(r.buf, r.h()->nlmsg_len, [](const nlmsghdr*) {});
}

const Resolver::Neigh* Resolver::neigh(int family, int ifindex, const uint8_t* addr, bool active) {
  NeighKey k{family, ifindex, {}};
  memcpy(k.addr, addr, family == 4 ? 4 : 16);
  auto it = neighs_.find(k);
  if (it == neighs_.end()) return nullptr;
  Neigh& n = it->second;
  if (!n.has_mac || !(n.state & kUsable)) return nullptr;
  // A stale entry of a tunnel that carries traffic gets NTF_USE: our frames bypass the kernel's
  // neighbour code, so nothing else would make the kernel re-probe it, and a changed MAC would
  // go unnoticed. Missing or failed entries get nothing here: the tunnel's packets take the
  // kernel's path, which resolves them as any packet would (and no idle tunnel causes ARP).
  // Never on REACHABLE (pointless), PERMANENT or NOARP entries (NTF_USE clears NUD_PERMANENT).
  if (active && keepalive_ && !n.used && (n.state & NUD_STALE)) {
    n.used = true;
    use(k);
  }
  return &n;
}

const Resolver::Link* Resolver::link(int ifindex) {
  for (const Link& l : links_)
    if (l.ifindex == ifindex) return &l;
  Link l;
  l.ifindex = ifindex;
  NlReq r;
  auto* ifi = r.body<ifinfomsg>(RTM_GETLINK, 0);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  char name[IF_NAMESIZE + 1] = {};
  bool eth = false, up = false, has_mac = false;
  int rc = transact(r.buf, r.h()->nlmsg_len, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWLINK) return;
    auto* got = static_cast<const ifinfomsg*>(NLMSG_DATA(m));
    eth = got->ifi_type == ARPHRD_ETHER;
    up = (got->ifi_flags & IFF_UP) != 0;
    each_attr(m, sizeof(ifinfomsg), [&](uint16_t type, const uint8_t* d, size_t n) {
      if (type == IFLA_ADDRESS && n == 6) {
        memcpy(l.mac, d, 6);
        has_mac = true;
      } else if (type == IFLA_MTU && n == 4) {
        memcpy(&l.mtu, d, 4);
      } else if (type == IFLA_IFNAME && n > 0) {
        memcpy(name, d, n < IF_NAMESIZE ? n : IF_NAMESIZE);
      }
    });
  });
  l.ok = rc == 0 && eth && up && has_mac && l.mtu >= 576;
  if (l.ok && name[0]) {
    char path[96];
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/hop_limit", name);
    l.hop_limit6 = read_sysctl_u8(path, 64);
  }
  links_.push_back(l);
  return &links_.back();
}

static void compose(L2Path* p, const uint8_t* dmac, const uint8_t* smac, uint32_t mtu, uint8_t hop_limit) {
  p->mtu = mtu;
  p->hop_limit = hop_limit;
  memcpy(p->eth, dmac, 6);
  memcpy(p->eth + 6, smac, 6);
  p->eth[12] = p->family == 4 ? 0x08 : 0x86;
  p->eth[13] = p->family == 4 ? 0x00 : 0xdd;
  p->sll.sll_family = AF_PACKET;
  p->sll.sll_protocol = htons(p->family == 4 ? ETH_P_IP : ETH_P_IPV6);
  p->sll.sll_halen = 6;
  memcpy(p->sll.sll_addr, dmac, 6);
}

bool Resolver::revalidate(const L2Path& cur, L2Path* out, bool active) {
  const Link* l = link(cur.sll.sll_ifindex);
  if (!l->ok) return false;
  const Neigh* n = neigh(cur.family, cur.sll.sll_ifindex, cur.nh, active);
  if (!n) return false;
  *out = cur;
  compose(out, n->mac, l->mac, l->mtu, cur.family == 4 ? ttl4_ : l->hop_limit6);
  return true;
}

bool Resolver::resolve(const Tunnel& t, L2Path* out, bool active, std::string* why) {
  if (fd_ < 0) return *why = "no rtnetlink socket", false;
  const size_t alen = t.family == 4 ? 4 : 16;
  const int af = t.family == 4 ? AF_INET : AF_INET6;
  static const uint8_t kZero[16] = {};
  const bool has_local = memcmp(t.local, kZero, alen) != 0;
  NlReq r;
  auto* rt = r.body<rtmsg>(RTM_GETROUTE, 0);
  rt->rtm_family = uint8_t(af);
  rt->rtm_dst_len = uint8_t(alen * 8);
  r.attr(RTA_DST, t.remote, alen);
  if (has_local) {
    // The raw socket is bound to the local address: source-based rules see the same lookup.
    rt->rtm_src_len = uint8_t(alen * 8);
    r.attr(RTA_SRC, t.local, alen);
  }
  uint32_t oif = 0;
  uint8_t gw[16] = {}, prefsrc[16] = {};
  bool has_gw = false, has_prefsrc = false, odd = false;
  uint8_t type = 0;
  int rc = transact(r.buf, r.h()->nlmsg_len, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWROUTE) return;
    type = static_cast<const rtmsg*>(NLMSG_DATA(m))->rtm_type;
    each_attr(m, sizeof(rtmsg), [&](uint16_t at, const uint8_t* d, size_t n) {
      if (at == RTA_OIF && n == 4) {
        memcpy(&oif, d, 4);
      } else if (at == RTA_GATEWAY && n == alen) {
        memcpy(gw, d, alen);
        has_gw = true;
      } else if (at == RTA_PREFSRC && n == alen) {
        memcpy(prefsrc, d, alen);
        has_prefsrc = true;
      } else if (at == RTA_VIA || at == RTA_MULTIPATH || at == RTA_ENCAP) {
        odd = true;  // a gateway of the other family, or lightweight tunnel encap: the kernel's job
      }
    });
  });
  if (rc) return *why = std::string("route lookup: ") + strerror(rc), false;
  if (type != RTN_UNICAST || !oif || odd) return *why = "not a plain unicast route", false;
  if (!has_local && !has_prefsrc) return *why = "no source address for the route", false;
  *out = L2Path{};
  out->family = t.family;
  memcpy(out->remote, t.remote, alen);
  memcpy(out->local, t.local, alen);
  memcpy(out->src, has_local ? t.local : prefsrc, alen);
  memcpy(out->nh, has_gw ? gw : t.remote, alen);
  out->sll.sll_ifindex = int(oif);
  if (!revalidate(*out, out, active)) {
    *why = link(int(oif))->ok ? "next hop not resolved yet" : "underlay device is not an Ethernet device that is up";
    return false;
  }
  return true;
}

}  // namespace gredge
