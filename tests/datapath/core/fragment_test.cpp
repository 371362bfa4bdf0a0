#include "weft/datapath/fragment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "packet_builder.hpp"
#include "weft/datapath/ipv4_header.hpp"

namespace weft::datapath {
namespace {

using test::ip;
using test::PacketBuilder;
using test::ref_checksum;

/// A naive reassembler: checks that the fragments tile [0, end) exactly, that all but the one at
/// the end have MF set, and that the header fields that must not change did not.
struct Reassembled {
  Bytes payload;
  bool last_mf = false;
  std::size_t base = 0;
};

std::optional<Reassembled> reassemble(const std::vector<Bytes>& frags, const Ipv4Frame& orig) {
  std::map<std::size_t, Ipv4Frame> by_offset;
  for (const auto& f : frags) {
    auto p = parse_ipv4_frame(FrameView{f});
    if (!p || !p->ip.checksum_ok || p->ip.id != orig.ip.id || p->ip.ttl != orig.ip.ttl ||
        p->ip.tos != orig.ip.tos || p->ip.protocol != orig.ip.protocol ||
        p->ip.src != orig.ip.src || p->ip.dst != orig.ip.dst || p->ip.df ||
        p->ip.reserved_flag != orig.ip.reserved_flag ||
        !std::equal(p->l2.begin(), p->l2.end(), orig.l2.begin(), orig.l2.end()) ||
        f.size() != p->l2.size() + p->packet.size()) {
      return std::nullopt;
    }
    by_offset.emplace(p->ip.frag_offset_bytes(), *p);
  }
  if (by_offset.size() != frags.size() || by_offset.empty()) {
    return std::nullopt;
  }
  Reassembled r;
  r.base = by_offset.begin()->first;
  std::size_t next = r.base;
  std::size_t i = 0;
  for (const auto& [off, p] : by_offset) {
    if (off != next) {
      return std::nullopt;
    }
    const bool last = ++i == by_offset.size();
    if (!last && !p.ip.mf) {
      return std::nullopt;
    }
    if (!last && p.payload.size() % 8 != 0) {
      return std::nullopt;
    }
    r.payload.insert(r.payload.end(), p.payload.begin(), p.payload.end());
    next += p.payload.size();
    if (last) {
      r.last_mf = p.ip.mf;
    }
  }
  return r;
}

TEST(Fragment, SplitsAtWeaveSizesAndReassembles) {
  const Bytes in = PacketBuilder().udp(5000, 6000, test::pattern(3000)).id(0x4242).ttl(9).build();
  auto orig = parse_ipv4_frame(FrameView{in});
  ASSERT_TRUE(orig);
  std::vector<Bytes> out;
  ASSERT_TRUE(fragment_ipv4(FrameView{in}, 1438, out));
  ASSERT_EQ(out.size(), 3u);
  // (1438 - 20) & ~7 = 1416 per piece; 3008 = 1416 + 1416 + 176.
  const std::size_t sizes[] = {1416, 1416, 176};
  for (std::size_t i = 0; i < 3; ++i) {
    auto p = parse_ipv4_frame(FrameView{out[i]});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->payload.size(), sizes[i]);
    EXPECT_EQ(p->ip.frag_offset_bytes(), i * 1416);
    EXPECT_EQ(p->ip.mf, i < 2);
    EXPECT_LE(p->ip.total_length, 1438);
    EXPECT_EQ(ref_checksum(p->packet.first(p->ip.header_len())), 0);
  }
  auto r = reassemble(out, *orig);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->base, 0u);
  EXPECT_FALSE(r->last_mf);
  EXPECT_TRUE(
      std::equal(r->payload.begin(), r->payload.end(), orig->payload.begin(), orig->payload.end()));
}

TEST(Fragment, GoldenSmallSplit) {
  // 40 bytes of payload at mtu 36: pieces of (36-20)&~7 = 16, 16, 8. Header checksums from Python.
  const Bytes in = PacketBuilder()
                       .ipv4(ip("10.0.0.1"), ip("10.0.0.2"), 17)
                       .id(1)
                       .ttl(64)
                       .payload(test::pattern(40))
                       .build();
  std::vector<Bytes> out;
  ASSERT_TRUE(fragment_ipv4(FrameView{in}, 36, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(to_hex(std::span(out[0]).subspan(14, 20)), "4500002400012000401146c60a0000010a000002");
  EXPECT_EQ(to_hex(std::span(out[1]).subspan(14, 20)), "4500002400012002401146c40a0000010a000002");
  EXPECT_EQ(to_hex(std::span(out[2]).subspan(14, 20)), "4500001c00010004401166ca0a0000010a000002");
}

TEST(Fragment, RefusesDfAndBadInput) {
  std::vector<Bytes> out(1);  // appended to, never cleared
  const Bytes df = PacketBuilder().df().payload(test::pattern(3000)).build();
  EXPECT_FALSE(fragment_ipv4(FrameView{df}, 1400, out));
  const Bytes small_df = PacketBuilder().df().payload(test::pattern(10)).build();
  EXPECT_FALSE(fragment_ipv4(FrameView{small_df}, 1400, out));
  const Bytes arp = PacketBuilder().ethertype(0x0806).payload(test::pattern(28)).build();
  EXPECT_FALSE(fragment_ipv4(FrameView{arp}, 1400, out));
  const Bytes big = PacketBuilder().payload(test::pattern(3000)).build();
  EXPECT_FALSE(fragment_ipv4(FrameView{std::span(big).first(1000)}, 1400, out));
  EXPECT_FALSE(fragment_ipv4(FrameView{big}, 27, out));  // less than 8 bytes per piece
  EXPECT_EQ(out.size(), 1u);
  EXPECT_TRUE(fragment_ipv4(FrameView{big}, 28, out));  // exactly 8
  EXPECT_EQ(out.size(), 1u + 375);
}

TEST(Fragment, FitsIsOneUnpaddedCopy) {
  const Bytes in = PacketBuilder().payload(test::pattern(6)).pad_to(60).build();
  std::vector<Bytes> out;
  ASSERT_TRUE(fragment_ipv4(FrameView{in}, 1400, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Bytes(in.begin(), in.begin() + 14 + 26));
}

TEST(Fragment, OptionsRfc791) {
  // NOP, Record Route (type 7: not copied), Router Alert (0x94: copied), End.
  const Bytes opts = *from_hex("01 070704000000 00 94040000 00000000");
  const Bytes in = PacketBuilder().options(opts).evil().payload(test::pattern(1000)).build();
  auto orig = parse_ipv4_frame(FrameView{in});
  ASSERT_TRUE(orig);
  ASSERT_EQ(orig->ip.ihl, 9);
  std::vector<Bytes> out;
  ASSERT_TRUE(fragment_ipv4(FrameView{in}, 500, out));
  // Piece = (500 - 36) & ~7 = 464, also for the later, shorter headers (Weave's rule).
  ASSERT_EQ(out.size(), 3u);
  auto first = parse_ipv4_frame(FrameView{out[0]});
  ASSERT_TRUE(first);
  EXPECT_EQ(to_hex(first->options), to_hex(opts));
  EXPECT_EQ(first->payload.size(), 464u);
  for (std::size_t i = 1; i < out.size(); ++i) {
    auto p = parse_ipv4_frame(FrameView{out[i]});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->ip.ihl, 6);
    EXPECT_EQ(to_hex(p->options), "94040000");
    EXPECT_TRUE(p->ip.reserved_flag);
  }
  auto r = reassemble(out, *orig);
  ASSERT_TRUE(r);
  EXPECT_TRUE(
      std::equal(r->payload.begin(), r->payload.end(), orig->payload.begin(), orig->payload.end()));
}

TEST(Fragment, NonCopiedOptionsOnlyGiveBareLaterHeaders) {
  const Bytes in =
      PacketBuilder().options(*from_hex("0101 07040000 0000")).payload(test::pattern(100)).build();
  std::vector<Bytes> out;
  ASSERT_TRUE(fragment_ipv4(FrameView{in}, 60, out));
  for (std::size_t i = 1; i < out.size(); ++i) {
    EXPECT_EQ(parse_ipv4_frame(FrameView{out[i]})->ip.ihl, 5);
  }
}

TEST(Fragment, MalformedOptionsRefused) {
  std::vector<Bytes> out;
  for (const char* o : {"9401 0000", "9408 0000", "0101 0194"}) {
    const Bytes in = PacketBuilder().options(*from_hex(o)).payload(test::pattern(100)).build();
    EXPECT_FALSE(fragment_ipv4(FrameView{in}, 60, out)) << o;
  }
  EXPECT_TRUE(out.empty());
}

TEST(Fragment, RefragmentingKeepsOffsetAndMf) {
  // A middle fragment (offset 800 bytes, MF) and a last one (offset 1600, no MF).
  for (bool mf : {true, false}) {
    const Bytes in =
        PacketBuilder().mf(mf).frag_offset(mf ? 100 : 200).payload(test::pattern(800)).build();
    auto orig = parse_ipv4_frame(FrameView{in});
    std::vector<Bytes> out;
    ASSERT_TRUE(fragment_ipv4(FrameView{in}, 300, out));
    ASSERT_EQ(out.size(), 3u);  // 280 + 280 + 240
    auto r = reassemble(out, *orig);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->base, mf ? 800u : 1600u);
    EXPECT_EQ(r->last_mf, mf);
    EXPECT_TRUE(std::equal(r->payload.begin(), r->payload.end(), orig->payload.begin(),
                           orig->payload.end()));
  }
}

TEST(Fragment, RoundTripTwiceTaggedPaddedAndSizes) {
  const Bytes in = PacketBuilder()
                       .vlan(0x0fff)
                       .udp(1, 2, test::pattern(60000, 9))
                       .options(*from_hex("94040000"))
                       .build();
  auto orig = parse_ipv4_frame(FrameView{in});
  ASSERT_TRUE(orig);
  for (std::uint16_t mtu : {68, 576, 1280, 1414, 1438, 1500, 9000, 65535}) {
    SCOPED_TRACE(mtu);
    std::vector<Bytes> first;
    ASSERT_TRUE(fragment_ipv4(FrameView{in}, mtu, first));
    // Re-fragment every piece at a smaller MTU: the union must still be the original.
    std::vector<Bytes> second;
    for (const auto& f : first) {
      auto p = parse_ipv4_frame(FrameView{f});
      ASSERT_TRUE(p);
      ASSERT_LE(p->ip.total_length, mtu);
      ASSERT_TRUE(fragment_ipv4(FrameView{f}, std::max<std::uint16_t>(68, mtu / 3), second));
    }
    for (const auto* set : {&first, &second}) {
      auto r = reassemble(*set, *orig);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->base, 0u);
      EXPECT_FALSE(r->last_mf);
      EXPECT_TRUE(std::equal(r->payload.begin(), r->payload.end(), orig->payload.begin(),
                             orig->payload.end()));
    }
  }
}

TEST(Fragment, ArenaVariantReusesItsBufferAndViewsLieInIt) {
  const Bytes in = PacketBuilder().udp(5000, 6000, test::pattern(3000)).options(*from_hex("94040000")).build();
  auto orig = parse_ipv4_frame(FrameView{in});
  ASSERT_TRUE(orig);
  Bytes arena;
  std::vector<std::span<const std::uint8_t>> views;
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(fragment_ipv4(FrameView{in}, 1000, arena, views));
    ASSERT_EQ(views.size(), 4u);  // 3008 bytes of UDP in pieces of 976
    std::vector<Bytes> copies;
    std::size_t bytes = 0;
    for (auto v : views) {
      EXPECT_GE(v.data(), arena.data());
      EXPECT_LE(v.data() + v.size(), arena.data() + arena.size());
      copies.emplace_back(v.begin(), v.end());
      bytes += v.size();
    }
    EXPECT_EQ(bytes, arena.size());  // back to back, nothing else
    auto r = reassemble(copies, *orig);
    ASSERT_TRUE(r);
    EXPECT_TRUE(std::equal(r->payload.begin(), r->payload.end(), orig->payload.begin(), orig->payload.end()));
    std::vector<Bytes> legacy;
    ASSERT_TRUE(fragment_ipv4(FrameView{in}, 1000, legacy));
    EXPECT_EQ(legacy, copies);
  }
  const auto* kept = arena.data();
  ASSERT_TRUE(fragment_ipv4(FrameView{in}, 1000, arena, views));
  EXPECT_EQ(arena.data(), kept);  // no reallocation once grown
  // A packet that fits: one view, the whole frame. Refused input: no views.
  ASSERT_TRUE(fragment_ipv4(FrameView{in}, 9000, arena, views));
  ASSERT_EQ(views.size(), 1u);
  EXPECT_TRUE(std::equal(views[0].begin(), views[0].end(), in.begin(), in.end()));
  const Bytes df = PacketBuilder().udp(1, 2, test::pattern(3000)).df().build();
  EXPECT_FALSE(fragment_ipv4(FrameView{df}, 1000, arena, views));
  EXPECT_TRUE(views.empty());
}

TEST(Fragment, OffsetOverflowRefused) {
  // Offset 8184 units (65472 bytes) with 1000 bytes of payload: later pieces cannot be expressed.
  const Bytes in = PacketBuilder().frag_offset(8184).payload(test::pattern(1000)).build();
  std::vector<Bytes> out;
  EXPECT_FALSE(fragment_ipv4(FrameView{in}, 100, out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace weft::datapath
