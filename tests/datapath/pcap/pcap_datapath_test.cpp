// Integration tests of PcapDatapath on a veth pair inside a private network namespace: frames
// sent into the far end with an AF_PACKET socket are captured in batches; frames injected with
// send() come out of the far end and are never captured back.
#include "weft/datapath/pcap_datapath.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "netns.hpp"
#include "packet_builder.hpp"
#include "weft/datapath/ethernet.hpp"

namespace weft::datapath {
namespace {

constexpr std::uint16_t kTypeIn = 0x88b5;   // IEEE local experimental ethertypes: no stack
constexpr std::uint16_t kTypeOut = 0x88b6;  // on the host reacts to them

/// A frame of `len` bytes with the given ethertype and a sequence number after the header.
Bytes test_frame(std::uint16_t type, std::uint32_t seq, std::size_t len) {
  Bytes f = test::PacketBuilder()
                .eth(Mac({0x02, 0, 0, 0, 0xbb, 1}), Mac({0x02, 0, 0, 0, 0xaa, 1}))
                .ethertype(type)
                .payload(test::pattern(len - 14, static_cast<std::uint8_t>(seq)))
                .build();
  f[14] = static_cast<std::uint8_t>(seq >> 24);
  f[15] = static_cast<std::uint8_t>(seq >> 16);
  f[16] = static_cast<std::uint8_t>(seq >> 8);
  f[17] = static_cast<std::uint8_t>(seq);
  return f;
}

std::uint16_t ethertype_of(std::span<const std::uint8_t> f) {
  auto h = parse_ethernet(f);
  return h ? h->ethertype : 0;
}

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

/// An AF_PACKET socket bound to `ifname` (the test's end of the veth pair).
class PacketSocket {
 public:
  explicit PacketSocket(const char* ifname) {
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    addr_.sll_family = AF_PACKET;
    addr_.sll_protocol = htons(ETH_P_ALL);
    addr_.sll_ifindex = static_cast<int>(::if_nametoindex(ifname));
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~PacketSocket() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  bool ok() const { return fd_ >= 0 && addr_.sll_ifindex > 0; }
  bool send(const Bytes& f) {
    return ::sendto(fd_, f.data(), f.size(), 0, reinterpret_cast<const sockaddr*>(&addr_),
                    sizeof addr_) == static_cast<ssize_t>(f.size());
  }
  /// Frames that arrived on the interface (not our own outgoing ones) with ethertype `type`.
  std::vector<Bytes> receive(std::uint16_t type, std::size_t want, int timeout_ms) {
    std::vector<Bytes> got;
    Bytes buf(65536);
    while (got.size() < want && wait_readable(fd_, timeout_ms)) {
      for (;;) {
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        const ssize_t n =
            ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) {
          break;
        }
        if (from.sll_pkttype == PACKET_OUTGOING) {
          continue;
        }
        std::span<const std::uint8_t> f(buf.data(), static_cast<std::size_t>(n));
        if (ethertype_of(f) == type) {
          got.emplace_back(f.begin(), f.end());
        }
      }
    }
    return got;
  }

 private:
  int fd_ = -1;
  sockaddr_ll addr_{};
};

TEST(PcapDatapath, OpenFailsCleanlyForMissingInterface) {
  auto d = PcapDatapath::open("weft-no-such-if0", 1);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("weft-no-such-if0"), std::string::npos) << d.error().message;
}

TEST(PcapDatapath, VethCaptureAndInject) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    // No IPv6 autoconfiguration chatter on the veth: only our frames should flow.
    (void)test::sh(
        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    NS_TRY(test::sh("ip link set lo up"));
    NS_TRY(test::sh("ip link add va type veth peer name vb"));
    NS_TRY(test::sh("ip link set va up && ip link set vb up"));

    // NB: with offloads on (veth has them) libpcap sizes each ring slot for the full snaplen, so
    // 16 MiB hold ~256 frames of any size: room for the 100 queued below.
    auto opened = PcapDatapath::open("va", 16);
    if (!opened) {
      return opened.error().message;
    }
    PcapDatapath& dp = **opened;
    NS_CHECK_EQ(dp.describe(), std::string("va (via pcap)"));
    NS_CHECK(dp.wait_fd() >= 0);
    PacketSocket peer("vb");
    NS_CHECK(peer.ok());

    // 1. Capture: 100 frames into vb come out of va; read them in batches of up to 16.
    constexpr std::uint32_t kIn = 100;
    std::size_t in_bytes = 0;
    for (std::uint32_t i = 0; i < kIn; ++i) {
      const Bytes f = test_frame(kTypeIn, i, 60 + (i * 97) % 1455);
      in_bytes += f.size();
      NS_CHECK(peer.send(f));
    }
    std::array<FrameView, 16> out{};
    std::uint32_t next = 0;
    std::size_t max_batch = 0;
    std::size_t other = 0;
    while (next < kIn && wait_readable(dp.wait_fd(), 2000)) {
      const std::size_t n = dp.receive(out);
      max_batch = std::max(max_batch, n);
      for (std::size_t i = 0; i < n; ++i) {
        if (ethertype_of(out[i].data) != kTypeIn) {
          ++other;
          continue;
        }
        // Views are intact until the next receive(): compare the whole frame now.
        const Bytes want = test_frame(kTypeIn, next, 60 + (next * 97) % 1455);
        NS_CHECK(std::equal(out[i].data.begin(), out[i].data.end(), want.begin(), want.end()));
        ++next;
      }
    }
    if (next != kIn) {
      const auto st = dp.stats();
      return fmt::format("captured {} of {} (other {}, rx_frames {}, rx_dropped {}, max batch {})",
                         next, kIn, other, st.rx_frames, st.rx_dropped, max_batch);
    }
    NS_CHECK(max_batch > 1);  // all 100 were queued before the first receive()
    NS_CHECK(max_batch <= out.size());

    // 2. Inject: 50 frames (and one too big for the MTU in the middle) leave through vb.
    std::vector<Bytes> inject;
    for (std::uint32_t i = 0; i < 50; ++i) {
      inject.push_back(test_frame(kTypeOut, i, 60 + i * 29));
    }
    const Bytes too_big = test_frame(kTypeOut, 9999, 3000);
    std::vector<FrameView> views;
    std::size_t out_bytes = 0;
    for (std::size_t i = 0; i < inject.size(); ++i) {
      views.push_back(FrameView{inject[i]});
      out_bytes += inject[i].size();
      if (i == 25) {
        views.push_back(FrameView{too_big});
      }
    }
    NS_CHECK_EQ(dp.send(views), inject.size());
    auto arrived = peer.receive(kTypeOut, inject.size(), 2000);
    NS_CHECK_EQ(arrived.size(), inject.size());
    for (std::size_t i = 0; i < inject.size(); ++i) {
      NS_CHECK(arrived[i] == inject[i]);
    }
    // Injected frames leave va: with direction "in" they are never captured back.
    std::size_t looped = 0;
    while (wait_readable(dp.wait_fd(), 200)) {
      const std::size_t n = dp.receive(out);
      for (std::size_t i = 0; i < n; ++i) {
        looped += ethertype_of(out[i].data) == kTypeOut ? 1 : 0;
        other += ethertype_of(out[i].data) == kTypeOut ? 0 : 1;
      }
      if (n == 0) {
        break;
      }
    }
    NS_CHECK_EQ(looped, 0u);

    // 3. Stats.
    const DatapathStats s = dp.stats();
    NS_CHECK_EQ(s.rx_frames, kIn + other);
    if (other == 0) {
      NS_CHECK_EQ(s.rx_bytes, in_bytes);
    }
    NS_CHECK_EQ(s.rx_dropped, 0u);
    NS_CHECK_EQ(s.tx_frames, inject.size());
    NS_CHECK_EQ(s.tx_bytes, out_bytes);
    NS_CHECK_EQ(s.tx_dropped, 1u);  // the oversized frame, and only it
    return "";
  });
}

TEST(PcapDatapath, RingOverflowIsCountedAsRxDropped) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    (void)test::sh(
        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    NS_TRY(test::sh("ip link add va type veth peer name vb"));
    NS_TRY(test::sh("ip link set va up && ip link set vb up"));
    auto opened = PcapDatapath::open("va", 1);  // ~16 slots
    if (!opened) {
      return opened.error().message;
    }
    PcapDatapath& dp = **opened;
    PacketSocket peer("vb");
    NS_CHECK(peer.ok());
    constexpr std::uint32_t kN = 100;
    for (std::uint32_t i = 0; i < kN; ++i) {
      NS_CHECK(peer.send(test_frame(kTypeIn, i, 100)));
    }
    std::array<FrameView, 64> out{};
    std::uint64_t got = 0;
    while (wait_readable(dp.wait_fd(), 300)) {
      const std::size_t n = dp.receive(out);
      for (std::size_t i = 0; i < n; ++i) {
        got += ethertype_of(out[i].data) == kTypeIn ? 1 : 0;
      }
      if (n == 0) {
        break;
      }
    }
    const DatapathStats s = dp.stats();
    NS_CHECK(got < kN);
    NS_CHECK(s.rx_dropped > 0);
    NS_CHECK_EQ(got + s.rx_dropped, std::uint64_t{kN});
    return "";
  });
}

TEST(PcapDatapath, LargeBatchAndJumboFrames) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    (void)test::sh(
        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    NS_TRY(test::sh("ip link add va type veth peer name vb"));
    NS_TRY(test::sh("ip link set va mtu 65000 up && ip link set vb mtu 65000 up"));
    auto opened = PcapDatapath::open("va", 8);
    if (!opened) {
      return opened.error().message;
    }
    PcapDatapath& dp = **opened;
    PacketSocket peer("vb");
    NS_CHECK(peer.ok());
    // More than kMaxBatch jumbo frames queued: receive() caps the batch and the arena holds it.
    constexpr std::uint32_t kN = PcapDatapath::kMaxBatch + 20;
    for (std::uint32_t i = 0; i < kN; ++i) {
      NS_CHECK(peer.send(test_frame(kTypeIn, i, 64000)));
    }
    std::vector<FrameView> out(200);
    std::uint32_t next = 0;
    while (next < kN && wait_readable(dp.wait_fd(), 2000)) {
      const std::size_t n = dp.receive(out);
      NS_CHECK(n <= PcapDatapath::kMaxBatch);
      for (std::size_t i = 0; i < n; ++i) {
        if (ethertype_of(out[i].data) != kTypeIn) {
          continue;
        }
        NS_CHECK_EQ(out[i].data.size(), 64000u);
        const Bytes want = test_frame(kTypeIn, next, 64000);
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
