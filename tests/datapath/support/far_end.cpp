#include "far_end.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "packet_builder.hpp"
#include "weft/datapath/ethernet.hpp"

namespace weft::datapath::test {

Bytes seq_frame(std::uint16_t type, std::uint32_t seq, std::size_t len) {
  Bytes f = PacketBuilder()
                .eth(Mac({0x02, 0, 0, 0, 0xbb, 1}), Mac({0x02, 0, 0, 0, 0xaa, 1}))
                .ethertype(type)
                .payload(pattern(len - 14, static_cast<std::uint8_t>(seq)))
                .build();
  f[14] = static_cast<std::uint8_t>(seq >> 24);
  f[15] = static_cast<std::uint8_t>(seq >> 16);
  f[16] = static_cast<std::uint8_t>(seq >> 8);
  f[17] = static_cast<std::uint8_t>(seq);
  return f;
}

std::uint32_t seq_of(std::span<const std::uint8_t> f) {
  if (f.size() < 18) {
    return 0;
  }
  return (std::uint32_t{f[14]} << 24) | (std::uint32_t{f[15]} << 16) | (std::uint32_t{f[16]} << 8) | f[17];
}

std::uint16_t ethertype_of(std::span<const std::uint8_t> f) {
  auto h = parse_ethernet(f);
  return h ? h->ethertype : 0;
}

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

PacketSocketEnd::PacketSocketEnd(const std::string& ifname, bool vnet) : vnet_(vnet) {
  fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  addr_.sll_family = AF_PACKET;
  addr_.sll_protocol = htons(ETH_P_ALL);
  addr_.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
  const int one = 1;
  const int rcvbuf = 32 << 20;
  if (fd_ >= 0) {
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  }
  if (fd_ >= 0 && vnet && ::setsockopt(fd_, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

PacketSocketEnd::~PacketSocketEnd() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

bool PacketSocketEnd::send(std::span<const std::uint8_t> f, const VnetHeader* vh) {
  if (vh != nullptr && !vnet_) {
    return false;
  }
  std::array<std::uint8_t, kVnetHeaderLen> hb{};
  (void)write_vnet_header(vh != nullptr ? *vh : VnetHeader{}, hb);
  std::array<iovec, 2> iov{iovec{hb.data(), hb.size()}, iovec{const_cast<std::uint8_t*>(f.data()), f.size()}};
  msghdr m{};
  m.msg_name = &addr_;
  m.msg_namelen = sizeof addr_;
  m.msg_iov = vnet_ ? iov.data() : iov.data() + 1;
  m.msg_iovlen = vnet_ ? 2 : 1;
  return ::sendmsg(fd_, &m, 0) == static_cast<ssize_t>(f.size() + (vnet_ ? hb.size() : 0));
}

std::vector<Bytes> PacketSocketEnd::receive(std::uint16_t type, std::size_t want, int timeout_ms,
                                            std::vector<VnetHeader>* headers) {
  std::vector<Bytes> got;
  Bytes buf(70000);
  while (got.size() < want && wait_readable(fd_, timeout_ms)) {
    for (;;) {
      sockaddr_ll from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) {
        break;
      }
      if (from.sll_pkttype == PACKET_OUTGOING) {
        continue;
      }
      std::span<const std::uint8_t> f(buf.data(), static_cast<std::size_t>(n));
      VnetHeader h;
      if (vnet_) {
        h = parse_vnet_header(f).value_or(VnetHeader{});
        f = f.subspan(std::min(f.size(), kVnetHeaderLen));
      }
      if (ethertype_of(f) == type) {
        got.emplace_back(f.begin(), f.end());
        if (headers != nullptr) {
          headers->push_back(h);
        }
      }
    }
  }
  return got;
}

}  // namespace weft::datapath::test
