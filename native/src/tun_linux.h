// Linux TUN device and rtnetlink plumbing: open one multi-queue TUN queue per worker, MTU and
// link state via ioctl, addresses and routes via rtnetlink (RFC 3549 message format).
#pragma once
#include <cstdint>
#include <string>

namespace gredge {

// Stable error codes carried to JS (src/dataplane/errors.ts maps them).
enum class NetErr { kNone, kPermission, kOpen, kNetlink, kArg };

struct NetResult {
  NetErr err = NetErr::kNone;
  int sys_errno = 0;
  std::string msg;
  bool ok() const { return err == NetErr::kNone; }
};

// Opens (creating if needed) a queue of the TUN `name` with IFF_TUN|IFF_NO_PI|IFF_MULTI_QUEUE
// (+IFF_VNET_HDR when vnet_hdr). Returns the fd (non-blocking) or -1 with *res filled.
int tun_open_queue(const std::string& name, bool vnet_hdr, NetResult* res);
NetResult tun_set_persist(int fd, bool persist);
NetResult tun_set_offload(int fd, unsigned flags);
NetResult link_set_mtu_up(const std::string& name, uint32_t mtu);
int link_index(const std::string& name);
// family 4 or 6; addr is 4 or 16 bytes.
// no_prefix_route: the kernel adds no subnet route for the address (IFA_F_NOPREFIXROUTE); the
// caller adds its own, e.g. with the tunnel MTU.
NetResult nl_address(bool add, int ifindex, int family, const uint8_t* addr, int plen, bool no_prefix_route = false);
// mtu > 0: the route carries RTAX_MTU, so the kernel's own TCP over it (a customer's BGP session
// inside its tunnel) negotiates an MSS that fits the tunnel, in both directions. prefsrc: the
// source address the kernel picks for it (what a connected route would have had).
NetResult nl_route(bool add, int ifindex, int family, const uint8_t* dst, int plen, uint32_t table, uint32_t mtu = 0,
                   const uint8_t* prefsrc = nullptr);
NetResult set_tcp_maxseg(int fd, int mss);

}  // namespace gredge
