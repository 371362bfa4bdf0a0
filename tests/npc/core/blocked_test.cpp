// NFLOG decoding and the blocked-connection line (kube spec §4.8).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "weft/npc/blocked.hpp"

namespace weft::npc {
namespace {

std::vector<std::uint8_t> ipv4(std::uint8_t proto, std::uint8_t tcp_flags) {
  std::vector<std::uint8_t> p(40, 0);
  p[0] = 0x45;
  p[9] = proto;
  const std::uint8_t src[] = {10, 32, 0, 2}, dst[] = {10, 32, 0, 3};
  std::memcpy(&p[12], src, 4);
  std::memcpy(&p[16], dst, 4);
  p[20] = 0xa0;  // sport 41000
  p[21] = 0x28;
  p[22] = 0;  // dport 80
  p[23] = 80;
  p[33] = tcp_flags;
  return p;
}

std::vector<std::uint8_t> nflog_message(const std::vector<std::uint8_t>& payload) {
  auto put16 = [](std::vector<std::uint8_t>& v, std::uint16_t x) {
    std::uint8_t b[2];
    std::memcpy(b, &x, 2);  // host order, as netlink
    v.insert(v.end(), b, b + 2);
  };
  std::vector<std::uint8_t> attrs;
  put16(attrs, 8);  // NFULA_PREFIX-like attribute first, to be skipped
  put16(attrs, 10);
  attrs.insert(attrs.end(), {'a', 'b', 'c', 0});
  put16(attrs, static_cast<std::uint16_t>(4 + payload.size()));
  put16(attrs, 9);
  attrs.insert(attrs.end(), payload.begin(), payload.end());
  while (attrs.size() % 4) attrs.push_back(0);
  std::vector<std::uint8_t> msg(16 + 4);
  const std::uint32_t len = static_cast<std::uint32_t>(msg.size() + attrs.size());
  std::memcpy(&msg[0], &len, 4);
  const std::uint16_t type = 0x0400;
  std::memcpy(&msg[4], &type, 2);
  msg[19] = 86;
  msg.insert(msg.end(), attrs.begin(), attrs.end());
  return msg;
}

TEST(Blocked, TcpSynAndUdpAreReported) {
  auto syn = decode_blocked(ipv4(6, 0x02));
  ASSERT_TRUE(syn);
  EXPECT_EQ(blocked_line(*syn, "default/client", "default/server"),
            "TCP connection from 10.32.0.2:41000 to 10.32.0.3:80 blocked by Weave NPC. (from default/client to "
            "default/server)");
  EXPECT_FALSE(decode_blocked(ipv4(6, 0x12)));  // SYN+ACK
  EXPECT_FALSE(decode_blocked(ipv4(6, 0x10)));  // ACK
  auto udp = decode_blocked(ipv4(17, 0));
  ASSERT_TRUE(udp);
  EXPECT_EQ(blocked_line(*udp, "", "x/y"), "UDP connection from 10.32.0.2:41000 to 10.32.0.3:80 blocked by Weave NPC. "
                                           "(from ? to x/y)");
  EXPECT_FALSE(decode_blocked(ipv4(1, 0)));  // ICMP
  auto p = ipv4(6, 0x02);
  EXPECT_FALSE(decode_blocked(std::span(p).first(30)));
  p[0] = 0x65;
  EXPECT_FALSE(decode_blocked(p));
}

TEST(Blocked, NflogMessagesYieldTheirPayloads) {
  auto one = nflog_message(ipv4(6, 0x02));
  auto two = one;
  two.insert(two.end(), one.begin(), one.end());
  auto payloads = nflog_payloads(two);
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_EQ(payloads[0].size(), 40u);
  EXPECT_TRUE(decode_blocked(payloads[1]));
  // Truncated: the complete first message is kept.
  two.resize(one.size() + 10);
  EXPECT_EQ(nflog_payloads(two).size(), 1u);
  auto bad = one;
  bad[0] = 200;  // length beyond the buffer
  EXPECT_TRUE(nflog_payloads(bad).empty());
}

}  // namespace
}  // namespace weft::npc
