// rtnetlink message building and parsing shared by the TUN plumbing (tun_linux.cc) and the
// direct-transmit resolver (nexthop.cc): a fixed request buffer with its header, body and
// attributes (RFC 3549 message format), and a walk over a reply's attributes.
#pragma once
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gredge {

struct NlReq {
  alignas(nlmsghdr) uint8_t buf[512] = {};
  nlmsghdr* h() { return reinterpret_cast<nlmsghdr*>(buf); }
  // Sets the header (NLM_F_REQUEST | flags) and returns the zeroed fixed body.
  template <typename T>
  T* body(uint16_t type, uint16_t flags) {
    h()->nlmsg_len = NLMSG_LENGTH(sizeof(T));
    h()->nlmsg_type = type;
    h()->nlmsg_flags = uint16_t(NLM_F_REQUEST | flags);
    return static_cast<T*>(NLMSG_DATA(h()));
  }
  void attr(uint16_t type, const void* data, size_t len) {
    auto* a = reinterpret_cast<rtattr*>(buf + NLMSG_ALIGN(h()->nlmsg_len));
    a->rta_type = type;
    a->rta_len = uint16_t(RTA_LENGTH(len));
    memcpy(RTA_DATA(a), data, len);
    h()->nlmsg_len = uint32_t(NLMSG_ALIGN(h()->nlmsg_len) + RTA_ALIGN(a->rta_len));
  }
};

// Calls fn(type, data, len) for each attribute of a message whose fixed header is `hdr` bytes.
template <typename Fn>
void each_attr(const nlmsghdr* m, size_t hdr, Fn fn) {
  const auto* base = static_cast<const uint8_t*>(NLMSG_DATA(m));
  if (m->nlmsg_len < NLMSG_LENGTH(hdr)) return;
  int left = int(m->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(hdr)));
  for (auto* a = reinterpret_cast<const rtattr*>(base + NLMSG_ALIGN(hdr)); RTA_OK(a, left); a = RTA_NEXT(a, left))
    fn(uint16_t(a->rta_type & NLA_TYPE_MASK), static_cast<const uint8_t*>(RTA_DATA(a)), size_t(RTA_PAYLOAD(a)));
}

}  // namespace gredge
