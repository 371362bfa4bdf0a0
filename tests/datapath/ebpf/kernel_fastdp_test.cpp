// The kernel fast path's own side of the datapath contract (datapath/ebpf), in a private network
// namespace (root; a failure when CI is set). KernelFastdp is not a Datapath: it neither captures
// nor injects on the bridge; weaver's frames go through the afpacket backend, which the
// conformance suite runs with these programs attached (afpacket_vnet_kernel_fastdp). What
// KernelFastdp offers by itself, and what is tested here:
//   * egress punts: with nothing in its maps, every frame on the bridge port's egress is left to
//     the userspace capture (counted as PUNT_EGRESS), intact and in order;
//   * ingress punts: a VXLAN frame it cannot deliver wakes punt_fd() after idle and is handed
//     over by consume() with its VNI, outer source and bytes; a burst arrives whole, none lost.
// Batch limits do not apply: consume() hands over everything the perf buffer holds.
#include "weft/datapath/kernel_fastdp.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "far_end.hpp"
#include "netns.hpp"
#include "packet_builder.hpp"
#include "weft/datapath/afpacket_datapath.hpp"
#include "weft/datapath/linux/netns.hpp"
#include "weft/datapath/linux/rtnl.hpp"

namespace weft::datapath {
namespace {

using test::kTypeIn;
using test::seq_frame;

constexpr const char* kPort = "weftk0";     // the bridge's end (vethwe-bridge in weaver)
constexpr const char* kCapture = "weftk1";  // the capture end (vethwe-pcap)
constexpr std::uint16_t kVxlanPort = 6784;

std::string setup_link() {
  (void)test::sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
  NS_TRY(test::sh("ip link set lo up"));
  NS_TRY(test::sh(fmt::format("ip link add {} type veth peer name {}", kPort, kCapture)));
  NS_TRY(test::sh(fmt::format("ip link set {} up && ip link set {} up", kPort, kCapture)));
  return "";
}

Result<std::unique_ptr<KernelFastdp>> attached() {
  WEFT_TRY(k, KernelFastdp::load(false, Logger("fastdp", nullptr)));
  KernelFastdpAttach a;
  a.bridge_port = kPort;
  a.vxlan_name = "weftk-vx";
  a.vxlan_port = kVxlanPort;
  a.self_short_id = 1;
  a.max_frame = 1514;
  WEFT_TRY_VOID(k->attach(a));
  return k;
}

TEST(KernelFastdp, EgressLeavesUndecidedFramesToTheCapture) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    NS_TRY(setup_link());
    auto k = attached();
    if (!k) {
      return k.error().message;
    }
    auto cap = AfPacketDatapath::open(kCapture, {});
    if (!cap) {
      return cap.error().message;
    }
    // Frames the bridge sends toward the router: out of kPort, through fdp_egress.
    test::PacketSocketEnd bridge(kPort);
    NS_CHECK(bridge.ok());
    constexpr std::uint32_t kN = 20;
    for (std::uint32_t i = 0; i < kN; ++i) {
      NS_CHECK(bridge.send(seq_frame(kTypeIn, i, 100 + i)));
    }
    std::array<FrameView, 8> out{};
    std::uint32_t next = 0;
    while (next < kN && test::wait_readable((*cap)->wait_fd(), 2000)) {
      const std::size_t n = (*cap)->receive(out);
      for (std::size_t i = 0; i < n; ++i) {
        if (test::ethertype_of(out[i].data) != kTypeIn) {
          continue;
        }
        const Bytes want = seq_frame(kTypeIn, next, 100 + next);
        NS_CHECK(std::equal(out[i].data.begin(), out[i].data.end(), want.begin(), want.end()));
        ++next;
      }
    }
    NS_CHECK_EQ(next, kN);
    // The program saw them (a detached program would count nothing).
    NS_CHECK((*k)->stats().counters[FDP_STAT_PUNT_EGRESS] >= kN);
    return "";
  });
}

/// A VXLAN datagram (flags I, VNI) carrying `frame`, to 127.0.0.1:kVxlanPort.
bool send_vxlan(int fd, std::uint32_t vni, const Bytes& frame) {
  Bytes d = {0x08,
             0,
             0,
             0,
             static_cast<std::uint8_t>(vni >> 16),
             static_cast<std::uint8_t>(vni >> 8),
             static_cast<std::uint8_t>(vni),
             0};
  d.insert(d.end(), frame.begin(), frame.end());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(kVxlanPort);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
         static_cast<ssize_t>(d.size());
}

TEST(KernelFastdp, IngressPuntWakesPuntFdAfterIdleAndNoneIsLost) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    NS_TRY(setup_link());
    auto k = attached();
    if (!k) {
      return k.error().message;
    }
    KernelFastdp& kf = **k;
    NS_CHECK(kf.punt_fd() >= 0);
    // One CPU for the sender and its softirq, so the per-CPU perf buffers keep the order.
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    NS_CHECK(::sched_setaffinity(0, sizeof one, &one) == 0);
    const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    NS_CHECK(udp >= 0);
    // VNI = source ShortID 2 | destination (this peer, 1) << 12; no MACs are known: all punted.
    constexpr std::uint32_t kVni = 2 | (1u << 12);
    std::vector<KernelPunt> got;
    std::vector<Bytes> frames;
    const auto take = [&] {
      kf.consume([&](const KernelPunt& p) {
        got.push_back(p);
        frames.emplace_back(p.frame.begin(), p.frame.end());
      });
    };

    // Idle: nothing wakes the poller.
    NS_CHECK(!test::wait_readable(kf.punt_fd(), 50));
    // One frame wakes it.
    const Bytes first = seq_frame(kTypeIn, 0, 120);
    const auto t0 = std::chrono::steady_clock::now();
    NS_CHECK(send_vxlan(udp, kVni, first));
    NS_CHECK(test::wait_readable(kf.punt_fd(), 1000));
    take();
    const auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "[ wake-up ] kernel fast path punt after idle: %.1f us\n", us);
    NS_CHECK_EQ(got.size(), 1u);
    NS_CHECK_EQ(got[0].vni, kVni);
    NS_CHECK(got[0].remote == test::ip("127.0.0.1"));
    NS_CHECK(frames[0] == first);

    // A burst: every frame handed over, none lost.
    got.clear();
    frames.clear();
    constexpr std::uint32_t kN = 200;
    for (std::uint32_t i = 1; i <= kN; ++i) {
      NS_CHECK(send_vxlan(udp, kVni, seq_frame(kTypeIn, i, 60 + i * 7)));
    }
    while (got.size() < kN && test::wait_readable(kf.punt_fd(), 1000)) {
      take();
    }
    ::close(udp);
    NS_CHECK_EQ(got.size(), std::size_t{kN});
    for (std::uint32_t i = 1; i <= kN; ++i) {
      NS_CHECK(frames[i - 1] == seq_frame(kTypeIn, i, 60 + i * 7));
    }
    NS_CHECK_EQ(kf.stats().lost, 0u);
    NS_CHECK_EQ(kf.stats().counters[FDP_STAT_PUNT_DROPPED], 0u);
    NS_CHECK(kf.stats().counters[FDP_STAT_PUNT_INGRESS] >= kN + 1);
    return "";
  });
}

/// seq_frame with MACs: to `dst`, from `src`.
Bytes addressed(const Mac& dst, const Mac& src, std::uint32_t seq) {
  Bytes f = seq_frame(kTypeIn, seq, 200);
  std::memcpy(f.data(), dst.bytes().data(), 6);
  std::memcpy(f.data() + 6, src.bytes().data(), 6);
  return f;
}

/// Skipping the bridge: a container port on a bridge with kPort, its veth peer in another
/// namespace. direct_ports() names that port (and not a port whose peer is in this namespace); a
/// VXLAN frame for the container goes through the bridge the first time (the bridge learns the
/// remote source on kPort) and straight into the container's namespace after that; the
/// container's frames to the remote MAC leave as VXLAN from its port, but for the first.
TEST(KernelFastdp, UnicastGoesStraightIntoTheContainerAndTheBridgeKeepsLearning) {
  WEFT_RUN_IN_NETNS([]() -> std::string {
    NS_TRY(setup_link());
    NS_TRY(
        test::sh(fmt::format("ip link add weftkbr type bridge && ip link set {} master weftkbr && "
                             "ip link set weftkbr up",
                             kPort)));
    auto self_ns = host::Netns::current();
    auto cont = host::Netns::create();
    NS_CHECK(self_ns && cont);
    auto rt = host::Rtnl::open();
    NS_CHECK(rt);
    host::VethSpec v;
    v.name = "weftkc0";
    v.peer_name = "eth0";
    v.peer_netns = &*cont;
    if (auto r = rt->create_veth(v); !r) return r.error().message;
    // A port whose peer stays here: never a target (the kernel refuses a peer redirect to it).
    NS_TRY(
        test::sh("ip link add weftks0 type veth peer name weftks1 && ip link set weftks0 master weftkbr && "
                 "ip link set weftks0 up && ip link set weftks1 up && ip link set weftkc0 master weftkbr && "
                 "ip link set weftkc0 up"));
    const Mac cmac = test::mac(0x31), smac = test::mac(0x32), remote = test::mac(0x42);
    {
      auto crt = host::Rtnl::open(&*cont);
      NS_CHECK(crt);
      NS_CHECK(crt->set_mac("eth0", cmac) && crt->set_up("eth0"));
    }
    auto k = attached();
    if (!k) {
      return k.error().message;
    }
    KernelFastdp& kf = **k;
    NS_CHECK(host::enter_netns(*cont));
    auto in_cont = std::make_unique<test::PacketSocketEnd>("eth0");
    NS_CHECK(host::enter_netns(*self_ns));
    NS_CHECK(in_cont->ok());
    test::PacketSocketEnd side("weftks1");
    NS_CHECK(side.ok());
    // The bridge learns both local MACs from a frame each.
    NS_CHECK(in_cont->send(addressed(test::mac(0xff), cmac, 0)));
    NS_CHECK(side.send(addressed(test::mac(0xff), smac, 0)));
    ::usleep(100000);
    auto ports = kf.direct_ports();
    if (!ports) return ports.error().message;
    const auto cport = static_cast<std::uint32_t>(::if_nametoindex("weftkc0"));
    NS_CHECK_EQ(ports->size(), 1u);
    NS_CHECK(ports->count(cmac) == 1 && ports->at(cmac) == cport);

    fdp_mac_val lv{};
    lv.peer = 1;
    lv.flags = FDP_MAC_LOCAL;
    lv.port = cport;
    NS_CHECK(kf.set_mac(cmac, lv));
    fdp_mac_val rv{};
    rv.peer = 2;
    NS_CHECK(kf.set_mac(remote, rv));
    (void)in_cont->receive(kTypeIn, 100, 50);  // whatever the bridge flooded so far
    (void)side.receive(kTypeIn, 100, 50);
    const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    NS_CHECK(udp >= 0);
    constexpr std::uint32_t kVni = 2 | (1u << 12);
    constexpr std::uint32_t kN = 20;
    for (std::uint32_t i = 1; i <= kN; ++i) {
      NS_CHECK(send_vxlan(udp, kVni, addressed(cmac, remote, i)));
    }
    ::close(udp);
    auto got = in_cont->receive(kTypeIn, kN, 1000);
    NS_CHECK_EQ(got.size(), std::size_t{kN});
    for (std::uint32_t i = 1; i <= kN; ++i) {
      NS_CHECK(got[i - 1] == addressed(cmac, remote, i));
    }
    auto st = kf.stats();
    NS_CHECK_EQ(st.counters[FDP_STAT_RX_LOCAL], std::uint64_t{kN});
    NS_CHECK_EQ(st.counters[FDP_STAT_RX_DIRECT], std::uint64_t{kN - 1});  // the first one bridged
    NS_CHECK_EQ(st.counters[FDP_STAT_ERRORS], 0u);
    // ...so the bridge knows the remote MAC is behind kPort, and replies are not flooded.
    auto fdb = rt->bridge_fdb(static_cast<int>(::if_nametoindex("weftkbr")));
    NS_CHECK(fdb);
    const auto kport = static_cast<int>(::if_nametoindex(kPort));
    NS_CHECK(std::any_of(fdb->begin(), fdb->end(), [&](const host::FdbEntry& e) {
      return e.mac == remote && e.ifindex == kport && !e.permanent;
    }));
    // Nothing reached the bystander port.
    NS_CHECK(side.receive(kTypeIn, 1, 100).empty());

    // The send side: the container's frames to the remote MAC leave as VXLAN from its port
    // (fdp_port), toward the hop's address on an underlay link captured at its far end.
    NS_TRY(
        test::sh("ip link add weftku0 type veth peer name weftku1 && ip addr add 10.99.0.1/24 dev weftku0 && "
                 "ip link set weftku0 up && ip link set weftku1 up && "
                 "ip neigh add 10.99.0.2 lladdr 02:00:00:00:00:99 dev weftku0"));
    test::PacketSocketEnd underlay("weftku1");
    NS_CHECK(underlay.ok());
    fdp_hop hop{};
    hop.flags = FDP_HOP_KNOWN | FDP_HOP_VXLAN;
    hop.ip = htonl(0x0a630002);  // 10.99.0.2
    NS_CHECK(kf.set_hop(2, hop));
    NS_CHECK_EQ(kf.set_direct_ports({cport}), 1u);
    NS_CHECK(test::sh("tc filter show dev weftkc0 ingress | grep -q fdp_port").empty());
    const auto tx0 = kf.stats().counters[FDP_STAT_TX_UNICAST];
    for (std::uint32_t i = 1; i <= kN; ++i) {
      NS_CHECK(in_cont->send(addressed(remote, cmac, 100 + i)));
    }
    auto out = underlay.receive(0x0800, kN, 1000);
    NS_CHECK_EQ(out.size(), std::size_t{kN});
    for (std::uint32_t i = 1; i <= kN; ++i) {
      const Bytes& d = out[i - 1];
      // Ethernet 14 + IPv4 20 + UDP 8, then VXLAN: VNI = ours (1) | the remote's (2) << 12.
      NS_CHECK(d.size() == 14 + 20 + 8 + 8 + 200);
      NS_CHECK(d[14 + 9] == 17 && d[36] == (kVxlanPort >> 8) && d[37] == (kVxlanPort & 0xff));
      const std::uint32_t vni = (std::uint32_t{d[46]} << 16) | (std::uint32_t{d[47]} << 8) | d[48];
      NS_CHECK_EQ(vni, 1u | (2u << 12));
      NS_CHECK(std::equal(d.begin() + 50, d.end(), addressed(remote, cmac, 100 + i).begin()));
    }
    st = kf.stats();
    NS_CHECK_EQ(st.counters[FDP_STAT_TX_UNICAST] - tx0, std::uint64_t{kN});
    // The first went through the bridge (so it keeps cmac learned) and fdp_egress; the rest skipped it.
    NS_CHECK_EQ(st.counters[FDP_STAT_TX_DIRECT], std::uint64_t{kN - 1});
    // A port no longer named loses the program and its qdisc.
    NS_CHECK_EQ(kf.set_direct_ports({}), 0u);
    NS_CHECK(!test::sh("tc qdisc show dev weftkc0 | grep -q clsact").empty());
    return "";
  });
}

}  // namespace
}  // namespace weft::datapath
