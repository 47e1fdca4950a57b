// Direct transmit: encapsulated packets leave through an AF_PACKET socket on the underlay device,
// with the outer IP and link headers built in the worker, instead of through the raw GRE socket
// and the kernel's IP output path (route lookup, ip_append_data, netfilter, neighbour) for every
// packet. The headers come from the kernel's own tables, read over rtnetlink by the paths
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
#include <unordered_map>
#include <vector>

namespace gredge {

struct Tunnel;

// Immutable once published (Tables::l2); replaced as a whole and freed through the epoch.
struct L2Path {
  int family = 4;
  uint8_t remote[16] = {};  // the tunnel endpoints this path was resolved for
  uint8_t local[16] = {};
  uint8_t src[16] = {};     // outer source: the tunnel's local address, else the route's
  uint8_t nh[16] = {};      // next hop: the route's gateway, or the remote itself
  uint32_t mtu = 0;         // device MTU: the largest outer IP packet sent this way
  uint8_t hop_limit = 64;   // IPv4 TTL / IPv6 hop limit, as the kernel would use
  uint8_t eth[14] = {};     // destination MAC, source MAC, EtherType
  sockaddr_ll sll{};
  bool same(const L2Path& o) const;
  // Whether this path belongs to tunnel t (same family and endpoints).
  bool serves(const Tunnel& t) const;
};

// Reads routes, devices and neighbours over rtnetlink for the paths thread, and listens
// for their change notifications so that paths follow the kernel within a tick, not a round.
class Resolver {
 public:
  // What changed since the last events() call.
  enum Events : unsigned { kEvNeigh = 1, kEvRoute = 2 };

  // ignore_oif: route notifications for routes through this device (gredge's own TUN, where
  // customer and inner routes go) are not underlay changes.
  explicit Resolver(int ignore_oif = 0);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;
  bool ok() const { return fd_ >= 0; }

  // Starts a round: forgets the previous round's devices, dumps the neighbour tables once.
  // keepalive: stale next hops of active tunnels get NTF_USE this round (the periodic round
  // only: NTF_USE itself causes neighbour events, which must not feed back into more of it).
  void begin_round(bool keepalive);
  // Fills *out for tunnel t from a route lookup; false (with *why) when the tunnel must use the
  // kernel's path (whose packets then resolve a missing next hop). active: the tunnel sent
  // packets since the last periodic round.
  bool resolve(const Tunnel& t, L2Path* out, bool active, std::string* why);
  // The current path checked against this round's device and neighbour: *out is the path to
  // publish (MACs, MTU and hop limit brought up to date), false when it must be withdrawn.
  bool revalidate(const L2Path& cur, L2Path* out, bool active);
  // Non-blocking: which tables changed (a notification overflow counts as everything).
  unsigned events();

 private:
  struct Link {
    int ifindex = 0;
    bool ok = false;
    uint8_t mac[6] = {};
    uint32_t mtu = 0;
    uint8_t hop_limit6 = 64;
  };
  struct NeighKey {
    int family, ifindex;
    uint8_t addr[16];
    bool operator==(const NeighKey& o) const;
  };
  struct NeighKeyHash {
    size_t operator()(const NeighKey& k) const;
  };
  struct Neigh {
    uint16_t state = 0;
    bool has_mac = false;
    bool used = false;  // NTF_USE sent this round
    uint8_t mac[6] = {};
  };
  // Sends req and hands each reply message to fn until the request is answered (a dump until
  // NLMSG_DONE). Returns 0 or a positive errno (from NLMSG_ERROR or the socket).
  template <typename Fn>
  int transact(void* req, size_t len, Fn fn);
  const Link* link(int ifindex);
  void dump_neighbours(int family);
  // The usable entry for a next hop, or nullptr; sends NTF_USE when the entry is missing or
  // unusable, or stale and stale_use is set.
  const Neigh* neigh(int family, int ifindex, const uint8_t* addr, bool active);
  void use(const NeighKey& k);

  int fd_ = -1, ev_fd_ = -1, ignore_oif_ = 0;
  uint32_t seq_ = 0;
  uint8_t ttl4_ = 64;
  bool keepalive_ = false;
  std::vector<Link> links_;  // this round's devices
  std::unordered_map<NeighKey, Neigh, NeighKeyHash> neighs_;  // this round's dump
  std::vector<uint8_t> buf_;
};

}  // namespace gredge
