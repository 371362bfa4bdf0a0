#pragma once
// A TCP/IPv4 TSO superframe as a sender hands it to a device with PACKET_VNET_HDR: one frame with
// the whole payload, a partial checksum (the pseudo-header sum only) and its virtio_net_hdr.
#include <cstdint>

#include "packet_builder.hpp"
#include "weft/datapath/vnet_header.hpp"

namespace weft::datapath::test {

/// 10.32.0.1:8080 -> 10.32.0.2:50000, ACK|PSH, DF, sequence `seq`, carrying `payload`.
inline Bytes tcp_superframe(const Bytes& payload, std::uint32_t seq) {
  constexpr std::uint8_t kAck = 0x10;
  constexpr std::uint8_t kPsh = 0x08;
  Bytes l4(20, 0);
  l4[0] = 0x1f;
  l4[1] = 0x90;
  l4[2] = 0xc3;
  l4[3] = 0x50;
  l4[4] = static_cast<std::uint8_t>(seq >> 24);
  l4[5] = static_cast<std::uint8_t>(seq >> 16);
  l4[6] = static_cast<std::uint8_t>(seq >> 8);
  l4[7] = static_cast<std::uint8_t>(seq);
  l4[12] = 0x50;
  l4[13] = kAck | kPsh;
  l4[14] = 0xff;
  l4.insert(l4.end(), payload.begin(), payload.end());
  const Ipv4 src = ip("10.32.0.1");
  const Ipv4 dst = ip("10.32.0.2");
  std::uint32_t s = (src.value() >> 16) + (src.value() & 0xffff) + (dst.value() >> 16) + (dst.value() & 0xffff) + 6 +
                    static_cast<std::uint32_t>(l4.size());
  while ((s >> 16) != 0) {
    s = (s & 0xffff) + (s >> 16);
  }
  l4[16] = static_cast<std::uint8_t>(s >> 8);
  l4[17] = static_cast<std::uint8_t>(s);
  return PacketBuilder().ipv4(src, dst, 6).df().payload(l4).build();
}

/// The virtio_net_hdr of tcp_superframe(): TCPv4 GSO of `mss`, checksum from byte 34 at +16.
inline VnetHeader tso_header(std::uint16_t mss) {
  VnetHeader h;
  h.flags = kVnetFlagNeedsCsum;
  h.gso_type = kVnetGsoTcpv4;
  h.hdr_len = 54;
  h.gso_size = mss;
  h.csum_start = 34;
  h.csum_offset = 16;
  return h;
}

}  // namespace weft::datapath::test
