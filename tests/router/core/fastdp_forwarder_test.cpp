#include <gtest/gtest.h>

#include "weft/router/fastdp_forwarder.hpp"

namespace weft::router {
namespace {

using namespace std::chrono_literals;

const PeerName kB(0xaabbccddee02u);
const TimePoint T0{std::chrono::hours(1)};
const Ipv4 kIpB(0x0a000002);

FastdpConnection conn(bool outbound) {
  FastdpConnection c;
  c.conn = 7;
  c.remote = kB;
  c.conn_uid = 0x1122334455667788ull;
  c.index = 0;
  if (outbound) c.remote_addr = datapath::UdpEndpoint{kIpB, 6784};
  return c;
}

TEST(FastdpForwarders, OutboundHeartbeatsUntilAcknowledged) {
  FastdpForwarders f(1410, 6784);
  FastdpEffects fx;
  f.add_connection(T0, conn(true), fx);
  ASSERT_EQ(fx.sends.size(), 1u);  // at once: the address is known
  EXPECT_EQ(fx.sends[0].to, (datapath::UdpEndpoint{kIpB, 6784}));
  EXPECT_EQ(fx.sends[0].dst, kB);
  EXPECT_EQ(fx.sends[0].frame.size(), 1424u);
  EXPECT_EQ(*parse_fastdp_heartbeat(fx.sends[0].frame), 0x1122334455667788ull);
  EXPECT_FALSE(f.usable(kB));

  fx = {};
  EXPECT_EQ(f.on_tick(T0 + 100ms, fx), T0 + 500ms);
  EXPECT_TRUE(fx.sends.empty());
  f.on_tick(T0 + 500ms, fx);
  EXPECT_EQ(fx.sends.size(), 1u);  // every 500 ms until the ack

  fx = {};
  f.on_control(T0 + 600ms, 7, Bytes{1, kFastdpSubHeartbeatAck}, fx);  // another overlay's index
  EXPECT_TRUE(fx.established.empty());
  f.on_control(T0 + 600ms, 7, Bytes{0, kFastdpSubHeartbeatAck}, fx);
  EXPECT_EQ(fx.established, std::vector<mesh::ConnId>{7});
  ASSERT_TRUE(f.usable(kB));
  EXPECT_EQ(*f.usable(kB), (datapath::UdpEndpoint{kIpB, 6784}));
  fx = {};
  f.on_control(T0 + 700ms, 7, Bytes{0, kFastdpSubHeartbeatAck}, fx);
  EXPECT_TRUE(fx.established.empty());  // once
  // Then every 10 s.
  f.on_tick(T0 + 5s, fx);
  EXPECT_TRUE(fx.sends.empty());
  f.on_tick(T0 + 600ms + 10s, fx);
  EXPECT_EQ(fx.sends.size(), 1u);
}

TEST(FastdpForwarders, InboundLearnsTheAddressFromTheFirstHeartbeat) {
  FastdpForwarders f(1410, 6784);
  FastdpEffects fx;
  f.add_connection(T0, conn(false), fx);
  EXPECT_TRUE(fx.sends.empty());  // nowhere to send yet
  auto hb = make_fastdp_heartbeat(0x1122334455667788ull, 1376);  // the remote's MTU may differ
  ASSERT_TRUE(f.on_heartbeat(T0 + 1s, kB, kIpB, hb, fx));
  ASSERT_EQ(fx.controls.size(), 1u);
  EXPECT_EQ(fx.controls[0].conn, 7u);
  EXPECT_EQ(fx.controls[0].payload, (Bytes{0, kFastdpSubHeartbeatAck}));
  ASSERT_EQ(fx.sends.size(), 1u);  // and our own heartbeat right away
  EXPECT_EQ(fx.sends[0].to, (datapath::UdpEndpoint{kIpB, 6784}));
  fx = {};
  ASSERT_TRUE(f.on_heartbeat(T0 + 2s, kB, kIpB, hb, fx));
  EXPECT_TRUE(fx.controls.empty());  // the ack goes once
  EXPECT_TRUE(fx.sends.empty());
  // A new source address is followed.
  ASSERT_TRUE(f.on_heartbeat(T0 + 3s, kB, Ipv4(0x0a000009), hb, fx));
  EXPECT_EQ(f.status_of(7)->remote_addr, (datapath::UdpEndpoint{Ipv4(0x0a000009), 6784}));
}

TEST(FastdpForwarders, RefusesBadHeartbeats) {
  FastdpForwarders f(1410, 6784);
  FastdpEffects fx;
  f.add_connection(T0, conn(false), fx);
  EXPECT_FALSE(f.on_heartbeat(T0, kB, kIpB, make_fastdp_heartbeat(1, 1410), fx));  // other connUID
  EXPECT_FALSE(f.on_heartbeat(T0, PeerName(0xaabbccddee09u), kIpB, make_fastdp_heartbeat(0x1122334455667788ull, 1410), fx));
  auto hb = make_fastdp_heartbeat(0x1122334455667788ull, 1410);
  hb.pop_back();
  EXPECT_FALSE(f.on_heartbeat(T0, kB, kIpB, hb, fx));
  EXPECT_TRUE(fx.controls.empty());
  EXPECT_FALSE(f.status_of(7)->remote_addr);
}

TEST(FastdpForwarders, SilenceMakesItUnhealthyAndAHeartbeatRevivesIt) {
  FastdpForwarders f(1410, 6784);
  FastdpEffects fx;
  f.add_connection(T0, conn(true), fx);
  f.on_control(T0, 7, Bytes{0, kFastdpSubHeartbeatAck}, fx);
  auto hb = make_fastdp_heartbeat(0x1122334455667788ull, 1410);
  ASSERT_TRUE(f.on_heartbeat(T0 + 1s, kB, kIpB, hb, fx));
  ASSERT_TRUE(f.usable(kB));
  auto gen = f.generation();
  f.on_tick(T0 + 1s + 59s, fx);
  EXPECT_TRUE(f.usable(kB));
  f.on_tick(T0 + 1s + 60s, fx);
  EXPECT_FALSE(f.usable(kB));  // the overlay switch falls back to the sleeve
  EXPECT_NE(f.generation(), gen);
  EXPECT_FALSE(f.status_of(7)->healthy);
  ASSERT_TRUE(f.on_heartbeat(T0 + 70s, kB, kIpB, hb, fx));
  EXPECT_TRUE(f.usable(kB));
  f.remove_connection(7);
  EXPECT_FALSE(f.usable(kB));
  EXPECT_FALSE(f.status_of(7));
}

}  // namespace
}  // namespace weft::router
