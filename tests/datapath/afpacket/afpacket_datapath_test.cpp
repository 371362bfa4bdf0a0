// AfPacketDatapath's own behaviour; capture, injection, batches, ring overflow, vnet superframes
// kept whole and wake-up (both ring versions) are the datapath contract, run for every backend by
// tests/datapath/conformance (datapath_conformance_afpacket_*). Here: the open error, and what
// only this backend does: cutting a TSO superframe received with PACKET_VNET_HDR into MTU-sized,
// checksummed segments across receive() calls, and the ring that grows under pressure (a veth pair
// in a private network namespace; root).
#include "weft/datapath/afpacket_datapath.hpp"

#include <gtest/gtest.h>

#include <array>

#include "far_end.hpp"
#include "netns.hpp"
#include "packet_builder.hpp"
#include "tso_frame.hpp"
#include "weft/datapath/checksum.hpp"
#include "weft/datapath/ipv4_header.hpp"

namespace weft::datapath {
namespace {

TEST(AfPacketDatapath, OpenFailsCleanlyForMissingInterface) {
  auto d = AfPacketDatapath::open("weft-no-such-if0", {});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("weft-no-such-if0"), std::string::npos) << d.error().message;
}

TEST(AfPacketDatapath, VnetHdrSuperframesSegmentedAcrossReceives) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    (void)test::sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    NS_TRY(test::sh("ip link add wefta0 type veth peer name wefta1"));
    NS_TRY(test::sh("ip link set wefta0 up && ip link set wefta1 up"));
    AfPacketOptions seg;
    seg.vnet_hdr = true;  // but not keep_superframes: receive() segments
    auto a = AfPacketDatapath::open("wefta0", seg);
    if (!a) {
      return a.error().message;
    }
    test::PacketSocketEnd peer("wefta1", /*vnet=*/true);
    NS_CHECK(peer.ok());

    const Bytes payload = test::pattern(20000, 11);
    const Bytes super = test::tcp_superframe(payload, 1000);
    const VnetHeader tso = test::tso_header(1448);
    NS_CHECK(peer.send(super, &tso));

    // 14 frames of at most the 1500-byte MTU, checksums valid, payload intact. Read in batches
    // of 5 so the superframe is segmented across receive() calls.
    std::array<FrameView, 5> out{};
    Bytes joined;
    std::size_t segs = 0;
    std::uint32_t next_seq = 1000;
    while (joined.size() < payload.size() && test::wait_readable((*a)->wait_fd(), 2000)) {
      std::size_t n = 0;
      do {
        n = (*a)->receive(out);
        NS_CHECK((*a)->rx_vnet_headers().empty());  // segments are plain frames
        for (std::size_t i = 0; i < n; ++i) {
          auto p = parse_ipv4_frame(out[i].data);
          if (!p || p->ip.protocol != 6) {
            continue;
          }
          ++segs;
          NS_CHECK(out[i].data.size() <= 1514);
          NS_CHECK(p->ip.checksum_ok);
          NS_CHECK_EQ(transport_checksum(p->ip.src, p->ip.dst, 6, p->payload), 0);
          const auto& t = p->payload;
          const std::uint32_t seq = (std::uint32_t{t[4]} << 24) | (std::uint32_t{t[5]} << 16) |
                                    (std::uint32_t{t[6]} << 8) | t[7];
          NS_CHECK_EQ(seq, next_seq);
          next_seq += static_cast<std::uint32_t>(t.size() - 20);
          joined.insert(joined.end(), t.begin() + 20, t.end());
        }
      } while (n > 0);
    }
    NS_CHECK_EQ(segs, 14u);
    NS_CHECK(joined == payload);
    NS_CHECK_EQ((*a)->stats().rx_dropped, 0u);
    return "";
  });
}

// Frames of a local experimental ethertype carrying a sequence number.
Bytes seq_frame(std::uint32_t seq) {
  Bytes f(200, 0);
  const Mac dst = test::mac(2), src = test::mac(1);
  std::copy(dst.bytes().begin(), dst.bytes().end(), f.begin());
  std::copy(src.bytes().begin(), src.bytes().end(), f.begin() + 6);
  f[12] = 0x88, f[13] = 0xb5;
  f[14] = static_cast<std::uint8_t>(seq >> 8), f[15] = static_cast<std::uint8_t>(seq);
  return f;
}

// Reads every frame of ethertype 0x88b5 until nothing came for 300 ms; returns their sequence numbers.
std::vector<std::uint32_t> drain_seqs(AfPacketDatapath& d) {
  std::vector<std::uint32_t> seqs;
  std::array<FrameView, 64> out{};
  while (test::wait_readable(d.wait_fd(), 300)) {
    std::size_t n = 0;
    do {
      n = d.receive(out);
      for (std::size_t i = 0; i < n; ++i) {
        const auto f = out[i].data;
        if (f.size() >= 16 && f[12] == 0x88 && f[13] == 0xb5) seqs.push_back((std::uint32_t{f[14]} << 8) | f[15]);
      }
    } while (n > 0);
  }
  return seqs;
}

// grow_block_count (what weaver runs beside the kernel fast path): the ring stays small while a
// trickle of frames passes, grows once half of it fills, and then holds a burst the small ring
// could not, losing nothing on the way.
TEST(AfPacketDatapath, RingGrowsOnceUnderPressureLosingNothing) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    (void)test::sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    NS_TRY(test::sh("ip link add wefta0 type veth peer name wefta1"));
    NS_TRY(test::sh("ip link set wefta0 up && ip link set wefta1 up"));
    AfPacketOptions o;
    o.vnet_hdr = true;
    o.keep_superframes = true;
    o.block_count = 2;
    o.grow_block_count = 16;
    auto a = AfPacketDatapath::open("wefta0", o);
    if (!a) {
      return a.error().message;
    }
    AfPacketDatapath& d = **a;
    const std::size_t small_slots = d.ring_slots_for_test();
    NS_CHECK(small_slots >= 8);
    NS_CHECK_EQ(d.ring_bytes(), std::size_t{2} << 20);
    test::PacketSocketEnd peer("wefta1", /*vnet=*/true);
    NS_CHECK(peer.ok());
    std::uint32_t seq = 0;
    std::vector<std::uint32_t> want;
    auto send = [&](std::size_t n) -> bool {
      for (std::size_t i = 0; i < n; ++i, ++seq) {
        if (!peer.send(seq_frame(seq))) return false;
        want.push_back(seq);
      }
      return true;
    };
    std::vector<std::uint32_t> got;
    auto take = [&] {
      auto s = drain_seqs(d);
      got.insert(got.end(), s.begin(), s.end());
    };
    // A trickle (fewer than half the slots at a time): the ring keeps its size.
    for (int round = 0; round < 5; ++round) {
      NS_CHECK(send(small_slots / 2 - 1));
      take();
    }
    NS_CHECK_EQ(d.ring_bytes(), std::size_t{2} << 20);
    // Half the slots at once: the next receive() that finds the ring empty grows it.
    NS_CHECK(send(small_slots / 2 + 1));
    take();
    NS_CHECK_EQ(d.ring_bytes(), std::size_t{16} << 20);
    NS_CHECK_EQ(d.ring_slots_for_test(), small_slots * 8);
    // A burst of four small rings' worth now fits.
    NS_CHECK(send(small_slots * 4));
    take();
    NS_CHECK_EQ(d.ring_bytes(), std::size_t{16} << 20);  // once
    NS_CHECK(got == want);
    NS_CHECK_EQ(d.stats().rx_dropped, 0u);
    return "";
  });
}

}  // namespace
}  // namespace weft::datapath
