#include <gtest/gtest.h>

#include "vectors.hpp"
#include "weft/datapath/checksum.hpp"
#include "weft/router/fastdp.hpp"

namespace weft::router {
namespace {

TEST(Fastdp, TunnelIdMatchesTheVector) {
  // "fastdp tunnel id src=0x123 dst=0x456: 0000000000456123"
  auto& v = test::Vectors::get().value("fastdp tunnel id src");
  auto colon = v.find(": ");
  ASSERT_NE(colon, std::string::npos);
  auto want = std::stoull(v.substr(colon + 2), nullptr, 16);
  auto id = fastdp_tunnel_id(*ShortID::from_uint(0x123), *ShortID::from_uint(0x456));
  EXPECT_EQ(id, want);
  EXPECT_EQ(fastdp_vni(*ShortID::from_uint(0x123), *ShortID::from_uint(0x456)), 0x456123u);
  EXPECT_EQ(fastdp_peers(id), (std::pair<std::uint16_t, std::uint16_t>{0x123, 0x456}));
}

TEST(Fastdp, VxlanHeaderIsRfc7348WithTheVni) {
  Bytes out;
  append_vxlan_header(out, fastdp_vni(*ShortID::from_uint(0x123), *ShortID::from_uint(0x456)));
  EXPECT_EQ(out, (Bytes{0x08, 0x00, 0x00, 0x00, 0x45, 0x61, 0x23, 0x00}));
  // The extreme ShortIDs fill all 24 bits.
  out.clear();
  append_vxlan_header(out, fastdp_vni(*ShortID::from_uint(0xfff), *ShortID::from_uint(0xfff)));
  EXPECT_EQ(out, (Bytes{0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0}));
}

TEST(Fastdp, ParsesVxlanAndRefusesWhatIsNot) {
  Bytes p{0x08, 0, 0, 0, 0x45, 0x61, 0x23, 0};
  Bytes frame(60, 0xab);
  p.insert(p.end(), frame.begin(), frame.end());
  auto v = parse_vxlan(p);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->vni, 0x456123u);
  EXPECT_EQ(Bytes(v->frame.begin(), v->frame.end()), frame);
  Bytes no_flag = p;
  no_flag[0] = 0;
  EXPECT_FALSE(parse_vxlan(no_flag));
  EXPECT_FALSE(parse_vxlan(std::span<const std::uint8_t>(p).first(8 + 13)));
  // Reserved bits are ignored on receive.
  Bytes reserved = p;
  reserved[1] = 0xff;
  reserved[7] = 0xff;
  ASSERT_TRUE(parse_vxlan(reserved));
  EXPECT_EQ(parse_vxlan(reserved)->vni, 0x456123u);
}

TEST(Fastdp, HeartbeatLayout) {
  // 14 + datapath MTU bytes: zero Ethernet header, connUID BE, total length BE, zeros.
  auto hb = make_fastdp_heartbeat(0x0303030303030303ull, 1376);
  ASSERT_EQ(hb.size(), 1390u);
  for (int i = 0; i < 14; ++i) EXPECT_EQ(hb[i], 0) << i;
  for (int i = 14; i < 22; ++i) EXPECT_EQ(hb[i], 0x03) << i;
  EXPECT_EQ(hb[22], 0x05);
  EXPECT_EQ(hb[23], 0x6e);
  for (std::size_t i = 24; i < hb.size(); ++i) ASSERT_EQ(hb[i], 0) << i;
  auto uid = parse_fastdp_heartbeat(hb);
  ASSERT_TRUE(uid);
  EXPECT_EQ(*uid, 0x0303030303030303ull);
}

TEST(Fastdp, HeartbeatChecks) {
  auto hb = make_fastdp_heartbeat(42, 1376);
  auto truncated = std::span<const std::uint8_t>(hb).first(hb.size() - 1);
  EXPECT_FALSE(parse_fastdp_heartbeat(truncated));  // length field no longer matches
  Bytes mac = hb;
  mac[0] = 1;
  EXPECT_FALSE(parse_fastdp_heartbeat(mac));
  EXPECT_FALSE(parse_fastdp_heartbeat(std::span<const std::uint8_t>(hb).first(23)));
  Bytes minimal(24, 0);
  minimal[21] = 9;
  minimal[23] = 24;
  ASSERT_TRUE(parse_fastdp_heartbeat(minimal));
  EXPECT_EQ(*parse_fastdp_heartbeat(minimal), 9u);
}

mesh::RemoteFeatures remote(std::optional<std::vector<std::string>> o) {
  mesh::RemoteFeatures r;
  r.overlays = std::move(o);
  return r;
}

TEST(Fastdp, OverlayNegotiationUsesOurOrder) {
  const std::vector<std::string> ours{"fastdp", "sleeve"};
  auto both = negotiate_overlays(ours, remote(std::vector<std::string>{"sleeve", "fastdp"}));
  ASSERT_TRUE(both);
  EXPECT_FALSE(both->compat);
  EXPECT_EQ(both->common, (std::vector<std::string>{"fastdp", "sleeve"}));
  EXPECT_EQ(both->index_of("fastdp"), 0);
  EXPECT_EQ(both->index_of("sleeve"), 1);

  auto sleeve_only = negotiate_overlays(ours, remote(std::vector<std::string>{"sleeve"}));
  ASSERT_TRUE(sleeve_only);
  EXPECT_EQ(sleeve_only->index_of("sleeve"), 0);
  EXPECT_FALSE(sleeve_only->index_of("fastdp"));

  auto compat = negotiate_overlays(ours, remote(std::nullopt));
  ASSERT_TRUE(compat);
  EXPECT_TRUE(compat->compat);
  EXPECT_EQ(compat->index_of("sleeve"), 0);
  EXPECT_FALSE(compat->index_of("fastdp"));

  // An empty Overlays value, or nothing in common, is a connection error.
  EXPECT_FALSE(negotiate_overlays(ours, remote(std::vector<std::string>{})));
  EXPECT_FALSE(negotiate_overlays(ours, remote(std::vector<std::string>{"awsvpc"})));
  const std::vector<std::string> sleeve{"sleeve"};
  auto no_fastdp = negotiate_overlays(sleeve, remote(std::vector<std::string>{"fastdp"}));
  ASSERT_FALSE(no_fastdp);
  EXPECT_NE(no_fastdp.error().message.find("no matching overlays"), std::string::npos);
}

}  // namespace
}  // namespace weft::router

namespace weft::router {
namespace {

/// An IPv4 TCP frame 10.0.0.1 -> 10.0.0.2 with `payload` bytes; its checksum field holds the folded
/// pseudo-header sum (partial, as an skb with CHECKSUM_PARTIAL) or the full checksum.
Bytes tcp_frame(std::size_t payload, bool partial) {
  Bytes f(14 + 20 + 20 + payload, 0);
  f[12] = 0x08;
  auto* ip = &f[14];
  ip[0] = 0x45;
  const auto tot = static_cast<std::uint16_t>(40 + payload);
  ip[2] = static_cast<std::uint8_t>(tot >> 8);
  ip[3] = static_cast<std::uint8_t>(tot);
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = 6;
  ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
  auto* tcp = &f[34];
  tcp[12] = 0x50;
  for (std::size_t i = 0; i < payload; ++i) f[54 + i] = static_cast<std::uint8_t>(i * 7);
  const std::uint8_t pseudo[12] = {10, 0, 0, 1, 10, 0, 0, 2, 0, 6, static_cast<std::uint8_t>((20 + payload) >> 8),
                                   static_cast<std::uint8_t>(20 + payload)};
  const auto sum = datapath::checksum_add(pseudo);
  std::uint16_t v;
  if (partial) {
    v = static_cast<std::uint16_t>(~datapath::checksum_finish(sum));
  } else {
    v = datapath::checksum_finish(datapath::checksum_add(std::span<const std::uint8_t>(tcp, 20 + payload), sum));
  }
  tcp[16] = static_cast<std::uint8_t>(v >> 8);
  tcp[17] = static_cast<std::uint8_t>(v);
  return f;
}

TEST(Fastdp, PuntedFramesGetTheirPartialChecksumBack) {
  auto complete = tcp_frame(100, false);
  EXPECT_FALSE(punted_frame_header(complete, 0));
  auto partial = tcp_frame(100, true);
  auto h = punted_frame_header(partial, 0);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->needs_csum());
  EXPECT_FALSE(h->is_gso());
  EXPECT_EQ(h->csum_start, 34);
  EXPECT_EQ(h->csum_offset, 16);
  ASSERT_TRUE(datapath::complete_checksum(partial, *h));
  EXPECT_EQ(partial, complete);  // completing it gives the real checksum
  // A wrong checksum that is not the partial pattern is left alone (the receiver drops it).
  auto bad = tcp_frame(100, false);
  bad[50] ^= 0x55;
  EXPECT_FALSE(punted_frame_header(bad, 0));
  // Not IPv4 TCP/UDP: nothing to say.
  auto arp = partial;
  arp[13] = 0x06;
  EXPECT_FALSE(punted_frame_header(arp, 0));
  EXPECT_FALSE(punted_frame_header(std::span<const std::uint8_t>(partial).first(40), 0));
}

TEST(Fastdp, PuntedGroFramesBecomeTcpSuperframes) {
  auto merged = tcp_frame(3 * 1400, true);
  auto h = punted_frame_header(merged, 1400);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->gso_kind(), datapath::kVnetGsoTcpv4);
  EXPECT_EQ(h->gso_size, 1400);
  EXPECT_EQ(h->hdr_len, 54);
  auto plan = datapath::plan_gso(merged, *h);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->segments, 3u);
}

}  // namespace
}  // namespace weft::router
