#include "weft/datapath/loopback_underlay.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <cerrno>

#include "packet_builder.hpp"

namespace weft::datapath {
namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

const Ipv4 kA = test::ip("192.168.0.1");
const Ipv4 kB = test::ip("192.168.0.2");

TEST(LoopbackUnderlay, PairDeliversWithSourceEndpoint) {
  LoopbackNet net;
  auto a = net.bind({kA, 6783});
  auto b = net.bind({kB, 6783});
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(net.bind({kA, 6783}));  // in use
  EXPECT_FALSE(readable(b->wait_fd()));

  const Bytes d1 = test::pattern(100, 1);
  const Bytes d2 = test::pattern(1400, 2);
  const DatagramOut batch[] = {{{kB, 6783}, d1, false}, {{kB, 6783}, d2, true}};
  EXPECT_EQ(a->send(batch), 2u);
  EXPECT_TRUE(readable(b->wait_fd()));
  std::array<DatagramIn, 8> in{};
  ASSERT_EQ(b->receive(in), 2u);
  EXPECT_EQ(in[0].from, (UdpEndpoint{kA, 6783}));
  EXPECT_EQ(Bytes(in[0].data.begin(), in[0].data.end()), d1);
  EXPECT_EQ(Bytes(in[1].data.begin(), in[1].data.end()), d2);
  EXPECT_FALSE(readable(b->wait_fd()));
  EXPECT_EQ(a->stats().tx_datagrams, 2u);
  EXPECT_EQ(a->stats().tx_bytes, 1500u);
  EXPECT_EQ(b->stats().rx_datagrams, 2u);
  EXPECT_EQ(net.delivered(), 2u);
}

TEST(LoopbackUnderlay, EphemeralPortsAndUnboundDestination) {
  LoopbackNet net;
  auto a = net.bind({kA, 0});
  auto b = net.bind({kA, 0});
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->local().port, 0);
  EXPECT_NE(a->local().port, b->local().port);
  const Bytes d = test::pattern(10);
  const DatagramOut out[] = {{{kB, 1}, d, false}};
  EXPECT_EQ(a->send(out), 1u);  // UDP: no error for nobody listening
  EXPECT_EQ(net.lost(), 1u);
  b.reset();
  EXPECT_TRUE(net.bind({kA, static_cast<std::uint16_t>(a->local().port + 1)}));  // freed
}

TEST(LoopbackUnderlay, DfPathMtuGivesEmsgsize) {
  LoopbackNet net;
  net.set_path_mtu(1500);
  auto a = net.bind({kA, 6783});
  auto b = net.bind({kB, 6783});
  net.set_path_mtu({kB, 6783}, 1280);
  EXPECT_EQ(net.path_mtu({kB, 6783}), 1280);
  EXPECT_EQ(net.path_mtu({kA, 6783}), 1500);

  const Bytes fits = test::pattern(1280 - 28);
  const Bytes big = test::pattern(1280 - 27);
  const DatagramOut batch[] = {{{kB, 6783}, fits, true},
                               {{kB, 6783}, big, false},
                               {{kB, 6783}, big, true},
                               {{kB, 6783}, fits, true}};
  SendError err;
  EXPECT_EQ(a->send(batch, &err), 2u);  // non-DF big is fine (the network fragments it)
  EXPECT_EQ(err.index, 2u);
  EXPECT_EQ(err.error, EMSGSIZE);
  EXPECT_EQ(err.path_mtu, 1280);
  EXPECT_EQ(a->stats().tx_errors, 1u);
  // The caller retries the rest.
  EXPECT_EQ(a->send(std::span(batch).subspan(3)), 1u);
  std::array<DatagramIn, 8> in{};
  EXPECT_EQ(b->receive(in), 3u);

  // Over 65507 bytes fails on either path.
  const Bytes huge(65508, 0);
  const DatagramOut h[] = {{{kB, 6783}, huge, false}};
  EXPECT_EQ(a->send(h, &err), 0u);
  EXPECT_EQ(err.error, EMSGSIZE);
}

TEST(LoopbackUnderlay, SeededLossIsDeterministic) {
  auto run = [](std::uint64_t seed) {
    LoopbackNet net(seed);
    net.set_loss(0.3);
    auto a = net.bind({kA, 1});
    auto b = net.bind({kB, 1});
    const Bytes d = test::pattern(20);
    std::vector<DatagramOut> batch(1000, DatagramOut{{kB, 1}, d, false});
    EXPECT_EQ(a->send(batch), 1000u);
    std::array<DatagramIn, 64> in{};
    std::size_t got = 0;
    while (std::size_t n = b->receive(in)) {
      got += n;
    }
    EXPECT_EQ(got + net.lost(), 1000u);
    return got;
  };
  const auto g1 = run(42);
  EXPECT_EQ(run(42), g1);
  EXPECT_GT(g1, 600u);
  EXPECT_LT(g1, 800u);
}

TEST(LoopbackUnderlay, UnderlayOutlivesNet) {
  std::unique_ptr<LoopbackUnderlay> a;
  {
    LoopbackNet net;
    a = net.bind({kA, 1});
  }
  const Bytes d = test::pattern(20);
  const DatagramOut out[] = {{{kA, 1}, d, false}};
  EXPECT_EQ(a->send(out), 1u);  // to itself, through the state it shares
  std::array<DatagramIn, 2> in{};
  EXPECT_EQ(a->receive(in), 1u);
}

}  // namespace
}  // namespace weft::datapath
