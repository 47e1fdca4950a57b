#!/usr/bin/env python3
"""Sends forged GRE (and packets into a device) for the gredge lab tests (test/lab/forge.ts builds the bytes).

stdin, one packet per line:
  4 <hex>                    a whole IPv4 packet (outer header included), sent with IP_HDRINCL
  6 <src> <dst> <hex>        a GRE header + payload, sent from an IPv6 raw socket bound to src
  d <dev> <hex>              a whole IP packet queued for transmission on device dev through an
                             AF_PACKET socket; on a TUN that is what its reader (the data plane)
                             reads next, as if the kernel had routed the packet there
argv[1]: seconds to wait between packets (default 0).
Standard library only, so that no extra Debian package is needed.
"""
import socket
import sys
import time

IPPROTO_GRE = 47
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD


def main() -> int:
    gap = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s6 = {}
    sd = {}
    sent = 0
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "4":
            pkt = bytes.fromhex(parts[1])
            dst = socket.inet_ntop(socket.AF_INET, pkt[16:20])
            s4.sendto(pkt, (dst, 0))
        elif parts[0] == "6":
            src, dst, payload = parts[1], parts[2], bytes.fromhex(parts[3])
            sock = s6.get(src)
            if sock is None:
                sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_GRE)
                sock.bind((src, 0))
                s6[src] = sock
            sock.sendto(payload, (dst, 0))
        elif parts[0] == "d":
            dev, pkt = parts[1], bytes.fromhex(parts[2])
            sock = sd.get(dev)
            if sock is None:
                # SOCK_DGRAM: the kernel adds the link header, and a TUN has none.
                sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
                sd[dev] = sock
            sock.sendto(pkt, (dev, ETH_P_IPV6 if pkt[0] >> 4 == 6 else ETH_P_IP))
        else:
            print(f"gre-send: bad line {line!r}", file=sys.stderr)
            return 2
        sent += 1
        if gap:
            time.sleep(gap)
    print(f"sent {sent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
