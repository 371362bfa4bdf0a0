// PcapDatapath's own behaviour; capture, injection, batches, ring overflow and wake-up are the
// datapath contract, run for every backend by tests/datapath/conformance (datapath_conformance_pcap).
// Here: the open error, and the receive arena that copies whole jumbo frames out of libpcap's
// callback for a full batch (a veth pair in a private network namespace; root).
#include "weft/datapath/pcap_datapath.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "far_end.hpp"
#include "netns.hpp"

namespace weft::datapath {
namespace {

using test::kTypeIn;
using test::seq_frame;

TEST(PcapDatapath, OpenFailsCleanlyForMissingInterface) {
  auto d = PcapDatapath::open("weft-no-such-if0", 1);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("weft-no-such-if0"), std::string::npos) << d.error().message;
}

TEST(PcapDatapath, LargeBatchAndJumboFrames) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    (void)test::sh(
        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    NS_TRY(test::sh("ip link add weftp0 type veth peer name weftp1"));
    NS_TRY(test::sh("ip link set weftp0 mtu 65000 up && ip link set weftp1 mtu 65000 up"));
    auto opened = PcapDatapath::open("weftp0", 8);
    if (!opened) {
      return opened.error().message;
    }
    PcapDatapath& dp = **opened;
    test::PacketSocketEnd peer("weftp1");
    NS_CHECK(peer.ok());
    // More than kMaxBatch jumbo frames queued: receive() caps the batch and the arena holds it.
    constexpr std::uint32_t kN = PcapDatapath::kMaxBatch + 20;
    for (std::uint32_t i = 0; i < kN; ++i) {
      NS_CHECK(peer.send(seq_frame(kTypeIn, i, 64000)));
    }
    std::vector<FrameView> out(200);
    std::uint32_t next = 0;
    while (next < kN && test::wait_readable(dp.wait_fd(), 2000)) {
      const std::size_t n = dp.receive(out);
      NS_CHECK(n <= PcapDatapath::kMaxBatch);
      for (std::size_t i = 0; i < n; ++i) {
        if (test::ethertype_of(out[i].data) != kTypeIn) {
          continue;
        }
        NS_CHECK_EQ(out[i].data.size(), 64000u);
        const Bytes want = seq_frame(kTypeIn, next, 64000);
        NS_CHECK(std::equal(out[i].data.begin(), out[i].data.end(), want.begin(), want.end()));
        ++next;
      }
    }
    NS_CHECK_EQ(next, kN);
    return "";
  });
}

}  // namespace
}  // namespace weft::datapath
