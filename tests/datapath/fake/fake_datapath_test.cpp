#include "weft/datapath/fake_datapath.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <array>

#include "packet_builder.hpp"

namespace weft::datapath {
namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

TEST(FakeDatapath, QueuesInOrderInBatches) {
  FakeDatapath dp("vethwe-pcap");
  EXPECT_EQ(dp.describe(), "vethwe-pcap (fake)");
  ASSERT_GE(dp.wait_fd(), 0);
  EXPECT_FALSE(readable(dp.wait_fd()));
  for (std::uint8_t i = 0; i < 5; ++i) {
    dp.inject_from_bridge(test::pattern(60 + i, i));
  }
  EXPECT_TRUE(readable(dp.wait_fd()));
  EXPECT_EQ(dp.pending(), 5u);

  std::array<FrameView, 3> out{};
  ASSERT_EQ(dp.receive(out), 3u);
  for (std::uint8_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Bytes(out[i].data.begin(), out[i].data.end()), test::pattern(60 + i, i));
  }
  EXPECT_TRUE(readable(dp.wait_fd()));  // two still queued
  ASSERT_EQ(dp.receive(out), 2u);
  EXPECT_EQ(out[1].data.size(), 64u);
  EXPECT_FALSE(readable(dp.wait_fd()));
  EXPECT_EQ(dp.receive(out), 0u);
  EXPECT_FALSE(readable(dp.wait_fd()));
  dp.inject_from_bridge(test::pattern(10));
  EXPECT_TRUE(readable(dp.wait_fd()));

  auto s = dp.stats();
  EXPECT_EQ(s.rx_frames, 5u);
  EXPECT_EQ(s.rx_bytes, 60u + 61 + 62 + 63 + 64);
}

TEST(FakeDatapath, SendRecordsAndNeverLoopsBack) {
  FakeDatapath dp;
  const Bytes a = test::pattern(100, 1);
  const Bytes b = test::pattern(200, 2);
  const FrameView frames[] = {FrameView{a}, FrameView{b}};
  EXPECT_EQ(dp.send(frames), 2u);
  ASSERT_EQ(dp.sent().size(), 2u);
  EXPECT_EQ(dp.sent()[1], b);
  std::array<FrameView, 4> out{};
  EXPECT_EQ(dp.receive(out), 0u);  // injected frames are not captured back
  EXPECT_FALSE(readable(dp.wait_fd()));

  dp.set_send_budget_for_test(1);
  EXPECT_EQ(dp.send(frames), 1u);
  auto s = dp.stats();
  EXPECT_EQ(s.tx_frames, 3u);
  EXPECT_EQ(s.tx_bytes, 400u);
  EXPECT_EQ(s.tx_dropped, 1u);
  auto taken = dp.take_sent();
  EXPECT_EQ(taken.size(), 3u);
  EXPECT_TRUE(dp.sent().empty());
}

TEST(FakeDatapath, ViewsStayValidUntilNextReceive) {
  FakeDatapath dp;
  dp.inject_from_bridge(test::pattern(1500, 7));
  std::array<FrameView, 1> out{};
  ASSERT_EQ(dp.receive(out), 1u);
  dp.inject_from_bridge(test::pattern(1500, 8));  // queueing more must not disturb the view
  EXPECT_EQ(Bytes(out[0].data.begin(), out[0].data.end()), test::pattern(1500, 7));
}

TEST(FakeDatapath, IsADatapath) {
  std::unique_ptr<Datapath> dp = std::make_unique<FakeDatapath>();
  EXPECT_EQ(dp->stats().rx_dropped, 0u);
}

}  // namespace
}  // namespace weft::datapath
