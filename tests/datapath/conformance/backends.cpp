#include "backends.hpp"

#include <poll.h>

#include <array>
#include <utility>

#include "weft/datapath/afpacket_datapath.hpp"
#include "weft/datapath/fake_datapath.hpp"
#ifdef WEFT_CONFORMANCE_PCAP
#include "weft/datapath/pcap_datapath.hpp"
#endif
#ifdef WEFT_HAVE_DPDK
#include <fmt/format.h>

#include "weft/datapath/dpdk_datapath.hpp"
#endif
#ifdef WEFT_HAVE_EBPF
#include "weft/datapath/kernel_fastdp.hpp"
#endif

namespace weft::datapath::test {
namespace {

/// The fake's far end is the fake itself: what the test sends is queued as captured from the
/// bridge, and what the fake accepted from send() is what "arrived".
class FakeFarEnd final : public FarEnd {
 public:
  explicit FakeFarEnd(FakeDatapath& dp) : dp_(dp) {}
  bool send(std::span<const std::uint8_t> frame, const VnetHeader* vh) override {
    if (vh != nullptr) {
      return false;  // the fake carries no vnet headers
    }
    dp_.inject_from_bridge(Bytes(frame.begin(), frame.end()));
    return true;
  }
  std::vector<Bytes> receive(std::uint16_t type, std::size_t want, int /*timeout_ms*/,
                             std::vector<VnetHeader>* headers) override {
    std::vector<Bytes> got;
    for (auto& f : dp_.take_sent()) {
      if (ethertype_of(f) == type && got.size() < want) {
        got.push_back(std::move(f));
        if (headers != nullptr) {
          headers->push_back(VnetHeader{});
        }
      }
    }
    return got;
  }

 private:
  FakeDatapath& dp_;
};

Result<std::unique_ptr<FarEnd>> far_socket(const char* ifname, bool vnet) {
  auto far = std::make_unique<PacketSocketEnd>(ifname, vnet);
  if (!far->ok()) {
    return make_error("far end: no packet socket on {}", ifname);
  }
  return std::unique_ptr<FarEnd>(std::move(far));
}

Result<Opened> open_fake(const OpenSpec& spec) {
  auto dp = std::make_unique<FakeDatapath>(kBackendIf);
  dp->set_mtu_for_test(1500);  // the veth's MTU, which the real backends meet
  if (spec.small_ring) {
    dp->set_capacity_for_test(16);
  }
  auto far = std::make_unique<FakeFarEnd>(*dp);
  return Opened{std::move(dp), std::move(far), nullptr};
}

AfPacketOptions afpacket_options(AfPacketOptions::Ring ring, bool vnet, const OpenSpec& spec, bool growing) {
  AfPacketOptions o;
  o.ring = ring;
  if (vnet) {
    o.vnet_hdr = true;  // what weaver runs: TPACKET_V2, superframes whole
    o.keep_superframes = true;
  }
  if (ring == AfPacketOptions::Ring::v3) {
    // NB: V3 hands over whole blocks, retired every millisecond even when nearly empty: bursts
    // read a few frames at a time under ASan can hold several big blocks. Many small blocks
    // absorb that (ring sizing is what the small_ring case checks).
    o.block_size = 1u << 16;
    o.block_count = 256;
  }
  if (spec.small_ring) {
    // V2: 2 slots of 2 KiB per block (with vnet: 64 KiB slots, 1 per 128 KiB block); V3: a few
    // 1 KiB frames per block.
    o.block_size = vnet ? (1u << 17) : 4096;
    o.block_count = vnet ? 2 : 4;
  }
  if (growing) {
    // What weaver runs beside the kernel fast path: a ring of 2 blocks that grows to 16 under
    // pressure (with small_ring: 2 slots, then 16).
    o.block_count = 2;
    o.grow_block_count = 16;
  }
  return o;
}

/// Grows a growing ring (AfPacketOptions::grow_block_count) the way traffic does: a burst that
/// fills half of it, read off, then one more receive() on the empty ring.
Result<void> grow_by_burst(AfPacketDatapath& dp, FarEnd& far) {
  const std::size_t cold = dp.ring_bytes();
  Bytes f(100, 0);
  f[0] = 0x02, f[6] = 0x02, f[11] = 1, f[12] = 0x88, f[13] = 0xb6;  // a warm-up ethertype no test reads
  for (std::size_t i = 0; i < dp.ring_slots_for_test() / 2 + 1; ++i) {
    if (!far.send(f)) return make_error("warm-up: the far end could not send");
  }
  std::array<FrameView, AfPacketDatapath::kMaxBatch> out{};
  for (int i = 0; i < 200 && dp.ring_bytes() == cold; ++i) {
    pollfd p{dp.wait_fd(), POLLIN, 0};
    (void)::poll(&p, 1, 10);
    (void)dp.receive(out);
  }
  if (dp.ring_bytes() == cold) return make_error("warm-up: the ring did not grow from {} bytes", cold);
  dp.reset_stats_for_test();  // the tests count from here
  return {};
}

Result<Opened> open_afpacket(AfPacketOptions::Ring ring, bool vnet, const OpenSpec& spec, bool growing = false) {
  WEFT_TRY(dp, AfPacketDatapath::open(kBackendIf, afpacket_options(ring, vnet, spec, growing)));
  WEFT_TRY(far, far_socket(kFarIf, vnet));
  return Opened{std::move(dp), std::move(far), nullptr};
}

}  // namespace

std::vector<BackendCase> all_backends() {
  using Ring = AfPacketOptions::Ring;
  std::vector<BackendCase> v;
  v.push_back({.name = "fake", .needs_link = false, .open = open_fake});
#ifdef WEFT_CONFORMANCE_PCAP
  v.push_back(
      {.name = "pcap", .max_batch = PcapDatapath::kMaxBatch, .open = [](const OpenSpec& spec) -> Result<Opened> {
         // NB: with offloads on (veth has them) libpcap sizes each ring slot for the full
         // snaplen: 16 MiB hold ~256 frames of any size, 1 MiB ~16.
         WEFT_TRY(dp, PcapDatapath::open(kBackendIf, spec.small_ring ? 1 : 16));
         WEFT_TRY(far, far_socket(kFarIf, false));
         return Opened{std::move(dp), std::move(far), nullptr};
       }});
#endif
  v.push_back({.name = "afpacket_v2", .max_batch = AfPacketDatapath::kMaxBatch, .open = [](const OpenSpec& s) {
                 return open_afpacket(Ring::v2, false, s);
               }});
  v.push_back({.name = "afpacket_v3", .max_batch = AfPacketDatapath::kMaxBatch, .open = [](const OpenSpec& s) {
                 return open_afpacket(Ring::v3, false, s);
               }});
  v.push_back(
      {.name = "afpacket_vnet", .vnet = true, .max_batch = AfPacketDatapath::kMaxBatch, .open = [](const OpenSpec& s) {
         return open_afpacket(Ring::v2, true, s);
       }});
  v.push_back({.name = "afpacket_vnet_growing",
               .vnet = true,
               .max_batch = AfPacketDatapath::kMaxBatch,
               // The contract holds once the ring has grown (the first burst through userspace grows
               // it; tests/datapath/afpacket checks that growth). The overflow test gets the cold
               // ring, which overflows, grows, and must still count exactly what it lost.
               .open = [](const OpenSpec& s) -> Result<Opened> {
                 WEFT_TRY(o, open_afpacket(Ring::v2, true, s, /*growing=*/true));
                 if (!s.small_ring) {
                   WEFT_TRY_VOID(grow_by_burst(static_cast<AfPacketDatapath&>(*o.dp), *o.far));
                 }
                 return o;
               }});
#ifdef WEFT_HAVE_EBPF
  // The kernel fast path is not a Datapath (it has no capture or inject of its own): it sits on
  // TC egress of the bridge's port and leaves every frame it cannot forward in the kernel to the
  // userspace capture. So the contract it must keep is that, attached on the far end's egress
  // (where weaver attaches it: vethwe-bridge), the afpacket backend behind it still passes the
  // whole suite. Its own interface (ingress punts through the perf buffer) is tested in
  // tests/datapath/ebpf/kernel_fastdp_test.cpp.
  v.push_back({.name = "afpacket_vnet_kernel_fastdp",
               .vnet = true,
               .max_batch = AfPacketDatapath::kMaxBatch,
               .open = [](const OpenSpec& s) -> Result<Opened> {
                 WEFT_TRY(k, KernelFastdp::load(false, Logger("fastdp", nullptr)));
                 KernelFastdpAttach a;
                 a.bridge_port = kFarIf;
                 a.vxlan_name = "weftc-vx";
                 a.vxlan_port = 6784;
                 a.self_short_id = 1;
                 a.max_frame = 1514;
                 WEFT_TRY_VOID(k->attach(a));
                 WEFT_TRY(o, open_afpacket(Ring::v2, true, s));
                 o.keep = std::shared_ptr<KernelFastdp>(std::move(k));
                 return o;
               }});
#endif
#ifdef WEFT_HAVE_DPDK
  // DPDK: the EAL (-l 0 --no-pci --no-shconf -m 256 [--no-huge]) starts in each test's forked
  // child. Rx is polled on a timer (50 us busy, 1 ms idle), so wait_fd() is not exact.
  const auto dpdk = [](std::string name, double wake_us, std::function<std::string(const OpenSpec&)> vdev, bool veth) {
    return BackendCase{.name = std::move(name),
                       .veth = veth,
                       .exact_wakeups = false,
                       .ring_drops_counted = false,
                       .max_batch = 64,
                       .wake_p50_us = wake_us,
                       .open = [vdev, veth](const OpenSpec& s) -> Result<Opened> {
                         DpdkOptions o;
                         o.ifname = kBackendIf;
                         o.vdev = vdev(s);
                         WEFT_TRY(dp, DpdkDatapath::open(o));
                         // net_tap makes the kernel side itself: the far end is that tap.
                         WEFT_TRY(far, far_socket(veth ? kFarIf : kBackendIf, false));
                         return Opened{std::move(dp), std::move(far), nullptr};
                       }};
  };
  // net_af_packet (weaver's default): an AF_PACKET "doorbell" on the same veth wakes the poller
  // on the first frame after a quiet spell, well inside one idle timer period.
  v.push_back(dpdk(
      "dpdk_af_packet", 700,
      [](const OpenSpec& s) {
        return s.small_ring ? fmt::format(
                                  "net_af_packet0,iface={},qpairs=1,framecnt=16,framesz=2048,"
                                  "blocksz=4096,qdisc_bypass=1",
                                  kBackendIf)
                            : std::string();
      },
      true));
#endif
  return v;
}

}  // namespace weft::datapath::test
