// Direct transmit: encapsulated packets leave through an AF_PACKET socket on the underlay device,
// with the outer IP and link headers built in the worker, instead of through the raw GRE socket
// and the kernel's IP output path (route lookup, ip_append_data, netfilter, neighbour) for every
// packet. The headers come from the kernel's own tables, read over rtnetlink by the housekeeping
// thread (Resolver), so the kernel stays the authority on routes and neighbours:
//   RTM_GETROUTE  the route to the tunnel's remote: device, gateway, preferred source;
//   RTM_GETLINK   the device: Ethernet, up, its MAC and MTU;
//   RTM_GETNEIGH  the next hop's link address and state;
//   RTM_NEWNEIGH with NTF_USE keeps that entry alive: it runs the kernel's reachability state
//                 machine (probe when stale, resolve when missing) as a sent packet would.
// A tunnel without a usable path (no route, a gateway not yet resolved, a non-Ethernet device,
// multipath) and any packet larger than the device MTU take the raw socket as before.
#pragma once
#include <linux/if_packet.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gredge {

struct Tunnel;

// Immutable once published (Tables::l2); replaced as a whole and freed through the epoch.
struct L2Path {
  int family = 4;
  uint8_t remote[16] = {};  // the tunnel endpoints this path was resolved for
  uint8_t local[16] = {};
  uint8_t src[16] = {};     // outer source: the tunnel's local address, else the route's
  uint32_t mtu = 0;         // device MTU: the largest outer IP packet sent this way
  uint8_t hop_limit = 64;   // IPv4 TTL / IPv6 hop limit, as the kernel would use
  uint8_t eth[14] = {};     // destination MAC, source MAC, EtherType
  sockaddr_ll sll{};
  bool same(const L2Path& o) const;
  // Whether this path belongs to tunnel t (same family and endpoints).
  bool serves(const Tunnel& t) const;
};

class Resolver {
 public:
  Resolver();
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;
  bool ok() const { return fd_ >= 0; }

  // One refresh round. Route lookups run per tunnel (new ones, then the oldest results);
  // devices and neighbours once per round whatever the number of tunnels using them.
  void begin_round();
  // Fills *out for tunnel t; false (with *why) when the tunnel must use the kernel's path.
  bool resolve(const Tunnel& t, L2Path* out, std::string* why);

 private:
  struct Link {
    int ifindex = 0;
    bool ok = false;
    uint8_t mac[6] = {};
    uint32_t mtu = 0;
    uint8_t hop_limit6 = 64;
  };
  struct Neigh {
    int family = 4, ifindex = 0;
    uint8_t addr[16] = {};
    bool ok = false;
    uint8_t mac[6] = {};
  };
  // Sends req and hands each reply message with its sequence number to fn until the request is
  // answered. Returns 0 or a positive errno (from NLMSG_ERROR or the socket).
  template <typename Fn>
  int transact(void* req, size_t len, Fn fn);
  const Link* link(int ifindex);
  const Neigh* neigh(int family, int ifindex, const uint8_t* addr);

  int fd_ = -1;
  uint32_t seq_ = 0;
  uint8_t ttl4_ = 64;
  std::vector<Link> links_;    // this round's devices
  std::vector<Neigh> neighs_;  // this round's next hops
  std::vector<uint8_t> buf_;
};

}  // namespace gredge
