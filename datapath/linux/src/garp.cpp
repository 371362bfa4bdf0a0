// Gratuitous ARP over AF_PACKET (see garp.hpp).
#include "weft/datapath/linux/garp.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace weft::datapath::host {
namespace {

/// Closes an fd on scope exit.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

}  // namespace

std::array<std::uint8_t, 28> gratuitous_arp_payload(const Mac& mac, Ipv4 ip) {
  // <[2] htype=1 Ethernet><[2] ptype=0x0800><[1] hlen=6><[1] plen=4><[2] op=1 request>
  // <[6] sender MAC><[4] sender IP><[6] target MAC=0><[4] target IP = sender IP>
  std::array<std::uint8_t, 28> p{};
  put16(&p[0], ARPHRD_ETHER);
  put16(&p[2], ETH_P_IP);
  p[4] = 6;
  p[5] = 4;
  put16(&p[6], ARPOP_REQUEST);
  std::copy(mac.bytes().begin(), mac.bytes().end(), p.begin() + 8);
  put32(&p[14], ip.value());
  put32(&p[24], ip.value());
  return p;
}

Result<void> send_gratuitous_arp(std::string_view ifname, Ipv4 ip) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ)
    return make_error("arp {}: invalid interface name", ifname);
  Fd s{::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP))};
  if (s.fd < 0) return make_error("arp on {}: socket: {}", ifname, std::strerror(errno));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  Fd q{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (q.fd < 0) return make_error("arp on {}: socket: {}", ifname, std::strerror(errno));
  if (::ioctl(q.fd, SIOCGIFINDEX, &ifr) != 0)
    return make_error("arp on {}: {}", ifname, std::strerror(errno));
  int ifindex = ifr.ifr_ifindex;
  if (::ioctl(q.fd, SIOCGIFHWADDR, &ifr) != 0)
    return make_error("arp on {}: {}", ifname, std::strerror(errno));
  std::array<std::uint8_t, 6> hw{};
  std::memcpy(hw.data(), ifr.ifr_hwaddr.sa_data, 6);
  auto payload = gratuitous_arp_payload(Mac(hw), ip);

  // SOCK_DGRAM: the kernel builds the Ethernet header from sll_addr (destination) and the
  // device's own address (source).
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  ssize_t n = ::sendto(s.fd, payload.data(), payload.size(), 0,
                       reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  if (n < 0) return make_error("arp {} on {}: {}", ip, ifname, std::strerror(errno));
  return {};
}

}  // namespace weft::datapath::host
