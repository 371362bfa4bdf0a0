// Integration tests of UdpUnderlay on real sockets: loopback in the host namespace, and small
// MTUs (lo and a veth pair) inside a private network namespace for the DF/EMSGSIZE path.
#include "weft/datapath/udp_underlay.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "netns.hpp"
#include "packet_builder.hpp"

namespace weft::datapath {
namespace {

const Ipv4 kLo = test::ip("127.0.0.1");

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

/// Receives until `want` datagrams arrived or 2 s of silence; returns them as owned bytes.
std::vector<std::pair<UdpEndpoint, Bytes>> receive_n(UdpUnderlay& u, std::size_t want) {
  std::vector<std::pair<UdpEndpoint, Bytes>> got;
  std::array<DatagramIn, 32> in{};
  while (got.size() < want && (u.has_pending() || wait_readable(u.wait_fd(), 2000))) {
    const std::size_t n = u.receive(in);
    for (std::size_t i = 0; i < n; ++i) {
      got.emplace_back(in[i].from, Bytes(in[i].data.begin(), in[i].data.end()));
    }
  }
  return got;
}

/// What IP_MTU reports towards 127.0.0.1: lo's MTU (65536 by default), capped by the kernel at
/// IP_MAX_MTU = 65535.
int loopback_ip_mtu() {
  int mtu = 65536;
  if (FILE* f = std::fopen("/sys/class/net/lo/mtu", "r")) {
    if (std::fscanf(f, "%d", &mtu) != 1) {
      mtu = 65536;
    }
    std::fclose(f);
  }
  return std::min(mtu, 65535);
}

int int_opt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, level, name, &v, &len) != 0) {
    return -errno;
  }
  return v;
}

TEST(UdpUnderlay, OpensTwoSocketsOnOnePort) {
  auto u = UdpUnderlay::open(kLo, 0);
  ASSERT_TRUE(u) << u.error().message;
  const UdpEndpoint local = (*u)->local();
  EXPECT_EQ(local.ip, kLo);
  EXPECT_NE(local.port, 0);
  for (bool df : {false, true}) {
    const int fd = (*u)->socket_fd_for_test(df);
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
    EXPECT_EQ(ntohs(sa.sin_port), local.port);
    EXPECT_EQ(int_opt(fd, SOL_SOCKET, SO_REUSEPORT), 1);
    EXPECT_EQ(int_opt(fd, IPPROTO_IP, IP_MTU_DISCOVER), df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT);
    if (::geteuid() == 0) {
      // The kernel reports twice the requested size (its bookkeeping overhead).
      EXPECT_GE(int_opt(fd, SOL_SOCKET, SO_RCVBUF), UdpUnderlay::kSocketBuffer);
      EXPECT_GE(int_opt(fd, SOL_SOCKET, SO_SNDBUF), UdpUnderlay::kSocketBuffer);
    }
  }
  // NB: SO_REUSEPORT lets another socket of the same user join the port (as here); Weave's
  // 6783 is ours by convention, not by lock.
  auto again = UdpUnderlay::open(kLo, local.port);
  EXPECT_TRUE(again);
}

TEST(UdpUnderlay, BatchRoundTripBothPaths) {
  auto a = UdpUnderlay::open(kLo, 0);
  auto b = UdpUnderlay::open(kLo, 0);
  ASSERT_TRUE(a && b);
  const UdpEndpoint to = (*b)->local();
  std::vector<Bytes> payloads;
  std::vector<DatagramOut> batch;
  for (std::size_t i = 0; i < 200; ++i) {
    payloads.push_back(
        test::pattern(i % 7 == 0 ? 60000 : 20 + i * 5, static_cast<std::uint8_t>(i)));
  }
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    // Runs of 1..4 with the same flag, so sendmmsg groups are exercised.
    batch.push_back(DatagramOut{to, payloads[i], ((i / 3) % 2) == 1});
  }
  SendError err;
  ASSERT_EQ((*a)->send(batch, &err), batch.size()) << err.error;
  auto got = receive_n(**b, batch.size());
  ASSERT_EQ(got.size(), batch.size());
  std::vector<Bytes> received;
  for (auto& [from, data] : got) {
    EXPECT_EQ(from, (*a)->local());
    received.push_back(std::move(data));
  }
  std::sort(received.begin(), received.end());
  std::sort(payloads.begin(), payloads.end());
  EXPECT_EQ(received, payloads);
  EXPECT_FALSE(wait_readable((*b)->wait_fd(), 0));

  std::size_t bytes = 0;
  for (const auto& p : payloads) {
    bytes += p.size();
  }
  EXPECT_EQ((*a)->stats().tx_datagrams, 200u);
  EXPECT_EQ((*a)->stats().tx_bytes, bytes);
  EXPECT_EQ((*b)->stats().rx_datagrams, 200u);
  EXPECT_EQ((*b)->stats().rx_bytes, bytes);
}

// UDP GSO + GRO: trains of equal-sized datagrams (the last shorter) to one peer leave as
// UDP_SEGMENT messages and, with GRO on at the receiver, arrive as coalesced buffers that
// receive() splits back into exactly the datagrams sent; every offload combination agrees.
TEST(UdpUnderlay, GsoAndGroKeepDatagramsExact) {
  for (bool gso : {false, true}) {
    for (bool gro : {false, true}) {
      SCOPED_TRACE(testing::Message() << "gso=" << gso << " gro=" << gro);
      auto a = UdpUnderlay::open(kLo, 0, {gso, false});
      auto b = UdpUnderlay::open(kLo, 0, {false, gro});
      auto c = UdpUnderlay::open(kLo, 0, {false, gro});
      ASSERT_TRUE(a && b && c);
      EXPECT_EQ((*b)->offloads().gro, gro);
      std::vector<Bytes> payloads;
      std::vector<DatagramOut> batch;
      // 3 trains of 1400-byte datagrams with a shorter tail, interleaved with another peer,
      // a lone odd size, and a train longer than 64 segments.
      std::size_t seq = 0;
      auto add = [&](UdpEndpoint to, std::size_t size) {
        payloads.push_back(test::pattern(size, static_cast<std::uint8_t>(seq++)));
        batch.push_back(DatagramOut{to, payloads.back(), false});
      };
      for (int t = 0; t < 3; ++t) {
        for (int i = 0; i < 10; ++i) add((*b)->local(), 1400);
        add((*b)->local(), 333);
        add((*c)->local(), 1400);
      }
      add((*b)->local(), 77);
      for (int i = 0; i < 100; ++i) add((*b)->local(), 1200);
      SendError err;
      ASSERT_EQ((*a)->send(batch, &err), batch.size()) << err.error;
      std::size_t for_b = 0;
      for (const auto& d : batch) for_b += d.to == (*b)->local() ? 1 : 0;
      auto got_b = receive_n(**b, for_b);
      auto got_c = receive_n(**c, batch.size() - for_b);
      ASSERT_EQ(got_b.size(), for_b);
      ASSERT_EQ(got_c.size(), batch.size() - for_b);
      // One socket, one flow: order is kept; compare exactly.
      std::size_t ib = 0, ic = 0;
      for (const auto& d : batch) {
        auto& got = d.to == (*b)->local() ? got_b[ib++] : got_c[ic++];
        EXPECT_EQ(got.second, Bytes(d.data.begin(), d.data.end()));
        EXPECT_EQ(got.first, (*a)->local());
      }
      if (gso) EXPECT_GT((*a)->stats().tx_gso_sends, 0u);
      else EXPECT_EQ((*a)->stats().tx_gso_sends, 0u);
      EXPECT_EQ((*a)->stats().tx_datagrams, batch.size());
      EXPECT_EQ((*b)->stats().rx_datagrams, for_b);
      if (gso && gro) EXPECT_GT((*b)->stats().rx_gro_buffers, 0u);
      EXPECT_FALSE((*b)->has_pending());
    }
  }
}

// A GRO train bigger than the caller's array is handed out over several receive() calls, with
// has_pending() telling the caller to come back without waiting on the fd.
TEST(UdpUnderlay, GroTrainOverSeveralReceives) {
  auto a = UdpUnderlay::open(kLo, 0, {true, false});
  auto b = UdpUnderlay::open(kLo, 0, {false, true});
  ASSERT_TRUE(a && b);
  std::vector<Bytes> payloads;
  std::vector<DatagramOut> batch;
  for (std::uint8_t i = 0; i < 40; ++i) payloads.push_back(test::pattern(1000, i));
  for (const auto& p : payloads) batch.push_back(DatagramOut{(*b)->local(), p, false});
  ASSERT_EQ((*a)->send(batch), 40u);
  ASSERT_TRUE(wait_readable((*b)->wait_fd(), 2000));
  std::array<DatagramIn, 7> in{};
  std::vector<Bytes> got;
  for (int guard = 0; guard < 100 && got.size() < 40; ++guard) {
    std::size_t n = (*b)->receive(in);
    for (std::size_t i = 0; i < n; ++i) got.emplace_back(in[i].data.begin(), in[i].data.end());
    if (n == 0 && !(*b)->has_pending()) wait_readable((*b)->wait_fd(), 200);
  }
  EXPECT_EQ(got, payloads);
}

TEST(UdpUnderlay, ReceiveRespectsOutSizeAndKeepsViews) {
  auto a = UdpUnderlay::open(kLo, 0);
  auto b = UdpUnderlay::open(kLo, 0);
  ASSERT_TRUE(a && b);
  std::vector<Bytes> payloads;
  std::vector<DatagramOut> batch;
  for (std::uint8_t i = 0; i < 10; ++i) {
    payloads.push_back(test::pattern(100, i));
  }
  for (const auto& p : payloads) {
    batch.push_back(DatagramOut{(*b)->local(), p, false});
  }
  ASSERT_EQ((*a)->send(batch), 10u);
  ASSERT_TRUE(wait_readable((*b)->wait_fd(), 2000));
  std::array<DatagramIn, 3> in{};
  ASSERT_EQ((*b)->receive(in), 3u);
  EXPECT_EQ(Bytes(in[0].data.begin(), in[0].data.end()), payloads[0]);  // same socket: in order
  EXPECT_EQ(Bytes(in[2].data.begin(), in[2].data.end()), payloads[2]);
  EXPECT_EQ(receive_n(**b, 7).size(), 7u);
  EXPECT_EQ((*b)->receive(in), 0u);
}

TEST(UdpUnderlay, OversizeOnLoopbackReportsEmsgsizeAndMtu) {
  auto a = UdpUnderlay::open(kLo, 0);
  auto b = UdpUnderlay::open(kLo, 0);
  ASSERT_TRUE(a && b);
  const Bytes max(65507, 0xab);
  const Bytes over(65508, 0xcd);
  const DatagramOut batch[] = {{(*b)->local(), max, true}, {(*b)->local(), over, true}};
  SendError err;
  EXPECT_EQ((*a)->send(batch, &err), 1u);
  EXPECT_EQ(err.index, 1u);
  EXPECT_EQ(err.error, EMSGSIZE);
  EXPECT_EQ(err.path_mtu, loopback_ip_mtu());
  EXPECT_EQ((*a)->stats().tx_errors, 1u);
  EXPECT_EQ(receive_n(**b, 1).size(), 1u);
}

TEST(UdpUnderlay, IpMtuNeedsAConnectedSocket) {
  // Why path_mtu() connects a helper socket: IP_MTU on the unconnected data sockets is ENOTCONN.
  auto a = UdpUnderlay::open(kLo, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(int_opt((*a)->socket_fd_for_test(true), IPPROTO_IP, IP_MTU), -ENOTCONN);
  EXPECT_EQ((*a)->path_mtu({kLo, 9}), loopback_ip_mtu());
}

TEST(UdpUnderlay, NetnsSmallMtuDfPath) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    NS_TRY(test::sh("ip link set lo mtu 1400 up"));
    NS_TRY(test::sh("ip link add va type veth peer name vb"));
    NS_TRY(test::sh("ip link set va mtu 1280 up && ip link set vb up"));
    NS_TRY(test::sh("ip addr add 10.77.0.1/24 dev va"));
    NS_TRY(test::sh("ip route add 10.78.0.0/24 dev va mtu 1100"));

    auto a = UdpUnderlay::open(Ipv4(), 0);
    auto b = UdpUnderlay::open(kLo, 0);
    NS_CHECK(a && b);
    const UdpEndpoint to_b = (*b)->local();

    // lo at 1400: 1372 bytes of payload fit with DF, 1373 do not; non-DF is fragmented.
    const Bytes fits = test::pattern(1400 - 28, 1);
    const Bytes over = test::pattern(1400 - 27, 2);
    const Bytes big = test::pattern(3000, 3);
    const DatagramOut batch[] = {
        {to_b, fits, true}, {to_b, big, false}, {to_b, over, true}, {to_b, fits, false}};
    SendError err;
    NS_CHECK_EQ((*a)->send(batch, &err), 2u);
    NS_CHECK_EQ(err.index, 2u);
    NS_CHECK_EQ(err.error, EMSGSIZE);
    NS_CHECK_EQ(err.path_mtu, 1400);
    NS_CHECK_EQ((*a)->send(std::span(batch).subspan(3)), 1u);
    auto got = receive_n(**b, 3);
    NS_CHECK_EQ(got.size(), 3u);
    std::vector<Bytes> sizes;
    for (auto& g : got) {
      sizes.push_back(g.second);
    }
    NS_CHECK(std::count(sizes.begin(), sizes.end(), big) == 1);  // reassembled by the kernel
    NS_CHECK(std::count(sizes.begin(), sizes.end(), fits) == 2);

    // The veth at 1280 and a route with mtu 1100: EMSGSIZE reports each path's own MTU.
    const UdpEndpoint via_veth{test::ip("10.77.0.2"), 6783};
    const UdpEndpoint via_route{test::ip("10.78.0.9"), 6783};
    const Bytes p1253 = test::pattern(1280 - 27);
    const Bytes p1252 = test::pattern(1280 - 28);
    const DatagramOut v[] = {{via_veth, p1252, true}, {via_veth, p1253, true}};
    NS_CHECK_EQ((*a)->send(v, &err), 1u);
    NS_CHECK_EQ(err.error, EMSGSIZE);
    NS_CHECK_EQ(err.path_mtu, 1280);
    const DatagramOut r[] = {{via_route, p1252, false}, {via_route, p1252, true}};
    NS_CHECK_EQ((*a)->send(r, &err), 1u);
    NS_CHECK_EQ(err.index, 1u);
    NS_CHECK_EQ(err.path_mtu, 1100);
    NS_CHECK_EQ((*a)->path_mtu(via_route), 1100);
    NS_CHECK((*a)->stats().tx_errors == 3);
    return "";
  });
}

}  // namespace
}  // namespace weft::datapath
