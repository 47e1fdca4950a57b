// TUN and rtnetlink (see tun_linux.h). Permission failures become NetErr::kPermission with a
// message naming CAP_NET_ADMIN, so that an operator knows what to fix.
#include "tun_linux.h"

#include "nl_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace gredge {

static NetResult fail(NetErr e, int err, const std::string& what) {
  NetResult r;
  r.sys_errno = err;
  if ((err == EPERM || err == EACCES) && e != NetErr::kArg) {
    r.err = NetErr::kPermission;
    r.msg = what + ": " + strerror(err) + " (gredge needs CAP_NET_ADMIN: run it as root or grant the capability)";
  } else {
    r.err = e;
    r.msg = what + ": " + strerror(err);
  }
  return r;
}

int tun_open_queue(const std::string& name, bool vnet_hdr, NetResult* res) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    *res = fail(NetErr::kArg, EINVAL, "TUN name '" + name + "'");
    return -1;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *res = fail(NetErr::kOpen, errno, "open /dev/net/tun");
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnet_hdr ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    // EINVAL on a name that exists: a device that is not a multi-queue TUN (a veth, a TAP, or
    // a TUN made without multi_queue) holds it; say so instead of "Invalid argument".
    if (e == EINVAL && access(("/sys/class/net/" + name).c_str(), F_OK) == 0)
      *res = fail(NetErr::kOpen, e,
                  "TUNSETIFF " + name + " (a device of that name exists and is not a multi-queue TUN: remove it or "
                  "choose another dataplane.tun)");
    else
      *res = fail(NetErr::kOpen, e, "TUNSETIFF " + name);
    return -1;
  }
  if (vnet_hdr) {
    int sz = 12;  // struct virtio_net_hdr_v1 (with num_buffers), as LAB-FACTS verified
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
      int e = errno;
      close(fd);
      *res = fail(NetErr::kOpen, e, "TUNSETVNETHDRSZ");
      return -1;
    }
  }
  return fd;
}

NetResult tun_set_persist(int fd, bool persist) {
  if (ioctl(fd, TUNSETPERSIST, persist ? 1 : 0) < 0) return fail(NetErr::kOpen, errno, "TUNSETPERSIST");
  return {};
}

NetResult tun_set_offload(int fd, unsigned flags) {
  if (ioctl(fd, TUNSETOFFLOAD, flags) < 0) return fail(NetErr::kOpen, errno, "TUNSETOFFLOAD");
  return {};
}

NetResult link_set_mtu_up(const std::string& name, uint32_t mtu) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail(NetErr::kOpen, errno, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, name.data(), name.size() < IFNAMSIZ - 1 ? name.size() : IFNAMSIZ - 1);
  NetResult r;
  // A deeper TUN queue than the default 500 rides out a worker that the scheduler keeps off
  // the CPU for a few milliseconds under a packet flood (best effort: not all kernels allow it).
  ifr.ifr_qlen = 4096;
  (void)ioctl(s, SIOCSIFTXQLEN, &ifr);
  ifr.ifr_mtu = int(mtu);
  if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
    r = fail(NetErr::kOpen, errno, "SIOCSIFMTU " + name);
  } else if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    r = fail(NetErr::kOpen, errno, "SIOCGIFFLAGS " + name);
  } else {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) r = fail(NetErr::kOpen, errno, "SIOCSIFFLAGS " + name);
  }
  close(s);
  return r;
}

int link_index(const std::string& name) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return 0;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, name.data(), name.size() < IFNAMSIZ - 1 ? name.size() : IFNAMSIZ - 1);
  int idx = ioctl(s, SIOCGIFINDEX, &ifr) < 0 ? 0 : ifr.ifr_ifindex;
  close(s);
  return idx;
}

namespace {
// Sends one request and waits for its ACK; returns 0 or a positive errno.
int nl_transact(nlmsghdr* h) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return errno;
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  h->nlmsg_seq = 1;
  int rc = 0;
  if (sendto(s, h, h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    rc = errno;
  } else {
    char rbuf[4096];
    timeval tv{5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(s, rbuf, sizeof(rbuf), 0);
    if (n < 0) {
      rc = errno;
    } else {
      auto* r = reinterpret_cast<nlmsghdr*>(rbuf);
      if (NLMSG_OK(r, size_t(n)) && r->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(r));
        rc = -e->error;
      }
    }
  }
  close(s);
  return rc;
}
}  // namespace

NetResult nl_address(bool add, int ifindex, int family, const uint8_t* addr, int plen, bool no_prefix_route) {
  NlReq req;
  req.h()->nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.h()->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
  req.h()->nlmsg_flags = add ? (NLM_F_CREATE | NLM_F_REPLACE) : 0;
  auto* ifa = static_cast<ifaddrmsg*>(NLMSG_DATA(req.h()));
  ifa->ifa_family = uint8_t(family == 4 ? AF_INET : AF_INET6);
  ifa->ifa_prefixlen = uint8_t(plen);
  ifa->ifa_index = uint32_t(ifindex);
  // A TUN has no link layer to run DAD on; skip it so the address is usable at once.
  ifa->ifa_flags = family == 6 ? IFA_F_NODAD : 0;
  size_t alen = family == 4 ? 4 : 16;
  req.attr(IFA_LOCAL, addr, alen);
  req.attr(IFA_ADDRESS, addr, alen);
  if (no_prefix_route) {
    // IFA_F_NOPREFIXROUTE does not fit the 8-bit ifa_flags: it travels in IFA_FLAGS.
    uint32_t flags = uint32_t(ifa->ifa_flags) | IFA_F_NOPREFIXROUTE;
    req.attr(IFA_FLAGS, &flags, 4);
  }
  int rc = nl_transact(req.h());
  if (rc && !(add == false && rc == EADDRNOTAVAIL)) return fail(NetErr::kNetlink, rc, add ? "RTM_NEWADDR" : "RTM_DELADDR");
  return {};
}

NetResult nl_route(bool add, int ifindex, int family, const uint8_t* dst, int plen, uint32_t table, uint32_t mtu,
                   const uint8_t* prefsrc) {
  NlReq req;
  req.h()->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.h()->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
  req.h()->nlmsg_flags = add ? (NLM_F_CREATE | NLM_F_REPLACE) : 0;
  auto* rt = static_cast<rtmsg*>(NLMSG_DATA(req.h()));
  rt->rtm_family = uint8_t(family == 4 ? AF_INET : AF_INET6);
  rt->rtm_dst_len = uint8_t(plen);
  rt->rtm_table = table < 256 ? uint8_t(table) : uint8_t(RT_TABLE_UNSPEC);
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = RT_SCOPE_LINK;
  rt->rtm_type = RTN_UNICAST;
  if (table >= 256) req.attr(RTA_TABLE, &table, 4);
  req.attr(RTA_DST, dst, family == 4 ? 4 : 16);
  uint32_t oif = uint32_t(ifindex);
  req.attr(RTA_OIF, &oif, 4);
  if (add && prefsrc) req.attr(RTA_PREFSRC, prefsrc, family == 4 ? 4 : 16);
  if (add && mtu > 0) {
    // RTA_METRICS nests rtattrs: { RTAX_MTU: u32 }.
    alignas(rtattr) char nested[RTA_SPACE(sizeof(uint32_t))];
    auto* m = reinterpret_cast<rtattr*>(nested);
    m->rta_type = RTAX_MTU;
    m->rta_len = uint16_t(RTA_LENGTH(sizeof(uint32_t)));
    memcpy(RTA_DATA(m), &mtu, sizeof(mtu));
    req.attr(RTA_METRICS, nested, m->rta_len);
  }
  int rc = nl_transact(req.h());
  if (rc && !(add == false && rc == ESRCH)) return fail(NetErr::kNetlink, rc, add ? "RTM_NEWROUTE" : "RTM_DELROUTE");
  return {};
}

NetResult set_tcp_maxseg(int fd, int mss) {
  if (setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) < 0)
    return fail(NetErr::kArg, errno, "setsockopt TCP_MAXSEG");
  return {};
}

}  // namespace gredge
