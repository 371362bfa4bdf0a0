// The datapath contract (datapath/core/include/weft/datapath/datapath.hpp), one body for every
// backend: the fake, pcap, afpacket (V2, V3, vnet), afpacket behind the kernel fast path's eBPF
// program, and DPDK, each listed in backends.cpp. Every real backend runs on a veth pair in a
// private network namespace (root; without it a skip, and a failure when CI is set); ctest runs
// one entry per backend (datapath_conformance_<name>), and an entry that selects no test fails.
//
// The contract:
//   capture   every frame sent into the link comes out of receive(), intact and in order, in
//             batches of at most out.size(); rx_frames/rx_bytes count them, rx_dropped stays 0;
//             a ring that overflows counts exactly the frames it lost as rx_dropped;
//   inject    send() puts frames on the link intact and in order, refuses (and counts as
//             tx_dropped) a frame too big for the link, and never captures its own frames back;
//   batches   receive() returns at most min(out.size(), the backend's ceiling) and loses
//             nothing when `out` is full or empty: wait_fd() stays readable while frames wait;
//             send() takes a burst larger than any internal burst whole;
//   vnet      a backend that offers VnetDatapath carries TSO superframes whole with their
//             virtio_net_hdr both ways; one that does not refuses send_vnet();
//   wake-up   a poller blocked on wait_fd() of an idle backend wakes when a frame arrives, and
//             one frame after a quiet spell reaches receive() within the backend's budget.
#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backends.hpp"
#include "netns.hpp"
#include "packet_builder.hpp"
#include "tso_frame.hpp"
#include "weft/datapath/checksum.hpp"
#include "weft/datapath/ethernet.hpp"
#include "weft/datapath/ipv4_header.hpp"

namespace weft::datapath::test {
namespace {

using Clock = std::chrono::steady_clock;
using Body = std::function<std::string(const BackendCase&, Opened&)>;

/// The test's veth pair, removed when the case ends (the namespace goes too; this keeps the
/// order explicit: the backend closes before its link disappears).
class VethPair {
 public:
  std::string setup() {
    NS_TRY(sh(fmt::format("ip link add {} type veth peer name {}", kBackendIf, kFarIf)));
    made_ = true;
    NS_TRY(sh(fmt::format("ip link set {} up && ip link set {} up", kBackendIf, kFarIf)));
    return "";
  }
  ~VethPair() {
    if (made_) {
      (void)sh(fmt::format("ip link del {}", kBackendIf));
    }
  }

 private:
  bool made_ = false;
};

/// Opens the case's backend on its link and runs `body`; in a private netns for real backends.
void run_case(const BackendCase& c, const OpenSpec& spec, const Body& body) {
  // NB: everything that touches links or sysctls runs only in the private namespace; the fake
  // (no link) runs in the test process and touches nothing.
  auto inner = [&c, &spec, &body]() -> std::string {
    VethPair veth;
    if (c.needs_link) {
      // No IPv6 autoconfiguration chatter on the link: only the test's frames flow.
      (void)sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
      NS_TRY(sh("ip link set lo up"));
      if (c.veth) {
        NS_TRY(veth.setup());
      }
    }
    auto opened = c.open(spec);
    if (!opened) {
      return fmt::format("opening {}: {}", c.name, opened.error().message);
    }
    return body(c, *opened);
  };
  if (c.needs_link) {
    WEFT_RUN_IN_NETNS(inner);
  } else {
    const std::string msg = inner();
    ASSERT_EQ(msg, "");
  }
}

struct Drained {
  std::size_t frames = 0;
  std::size_t max_batch = 0;
  std::string error;
};

/// Calls receive(out) whenever wait_fd() polls readable, handing each frame to `on`, until
/// `done()` or no frame came for `idle_ms`. Checks every batch against `ceiling`.
Drained drain(Datapath& dp, std::span<FrameView> out, std::size_t ceiling, int idle_ms,
              const std::function<std::string(std::span<const std::uint8_t>)>& on, const std::function<bool()>& done) {
  Drained d;
  auto last = Clock::now();
  const std::size_t limit = ceiling == 0 ? out.size() : std::min(out.size(), ceiling);
  while (!done() && Clock::now() - last < std::chrono::milliseconds(idle_ms)) {
    if (!wait_readable(dp.wait_fd(), idle_ms)) {
      break;
    }
    const std::size_t n = dp.receive(out);
    if (n > limit) {
      d.error = fmt::format("receive() returned {} frames, more than {}", n, limit);
      return d;
    }
    if (n > 0) {
      last = Clock::now();
    }
    d.max_batch = std::max(d.max_batch, n);
    d.frames += n;
    for (std::size_t i = 0; i < n; ++i) {
      d.error = on(out[i].data);
      if (!d.error.empty()) {
        return d;
      }
    }
  }
  return d;
}

/// Sizes 60..1514, varied, so short and full-MTU frames interleave.
std::size_t capture_len(std::uint32_t i) { return 60 + (i * 97) % 1455; }

/// Frames of kTypeIn must arrive in order, numbered from 0 and `len(seq)` long; others are counted.
struct InOrder {
  std::uint32_t next = 0;
  std::size_t other = 0;
  std::function<std::size_t(std::uint32_t)> len = capture_len;
  std::string operator()(std::span<const std::uint8_t> f) {
    if (ethertype_of(f) != kTypeIn) {
      ++other;
      return "";
    }
    const Bytes want = seq_frame(kTypeIn, next, len(next));
    if (!std::equal(f.begin(), f.end(), want.begin(), want.end())) {
      return fmt::format("frame {} differs (got {} bytes, seq {}; want {} bytes)", next, f.size(), seq_of(f),
                         want.size());
    }
    ++next;
    return "";
  }
};

class DatapathConformance : public ::testing::TestWithParam<BackendCase> {};

TEST_P(DatapathConformance, CapturesEveryFrameIntactAndInOrder) {
  run_case(GetParam(), {}, [](const BackendCase& c, Opened& o) -> std::string {
    Datapath& dp = *o.dp;
    NS_CHECK(dp.wait_fd() >= 0);
    NS_CHECK(dp.describe().find(kBackendIf) != std::string::npos);
    // NB: pcap's 16 MiB ring holds ~256 frames (every slot is sized for the snaplen).
    constexpr std::uint32_t kIn = 200;
    std::size_t in_bytes = 0;
    for (std::uint32_t i = 0; i < kIn; ++i) {
      const Bytes f = seq_frame(kTypeIn, i, capture_len(i));
      in_bytes += f.size();
      NS_CHECK(o.far->send(f));
    }
    std::array<FrameView, 16> out{};
    InOrder order;
    const Drained d = drain(dp, out, c.max_batch, 2000, std::ref(order), [&] { return order.next == kIn; });
    NS_TRY(d.error);
    if (order.next != kIn) {
      const auto st = dp.stats();
      return fmt::format("captured {} of {} (other {}, rx_frames {}, rx_dropped {}, max batch {})", order.next, kIn,
                         order.other, st.rx_frames, st.rx_dropped, d.max_batch);
    }
    NS_CHECK(d.max_batch > 1);  // all were queued before the first receive(): batches form
    const DatapathStats s = dp.stats();
    NS_CHECK_EQ(s.rx_frames, kIn + order.other);
    if (order.other == 0) {
      NS_CHECK_EQ(s.rx_bytes, in_bytes);
    }
    NS_CHECK_EQ(s.rx_dropped, 0u);
    NS_CHECK_EQ(s.tx_frames, 0u);
    return "";
  });
}

TEST_P(DatapathConformance, InjectsIntactRefusesOversizeNeverCapturesItsOwn) {
  run_case(GetParam(), {}, [](const BackendCase& c, Opened& o) -> std::string {
    Datapath& dp = *o.dp;
    std::vector<Bytes> inject;
    for (std::uint32_t i = 0; i < 50; ++i) {
      inject.push_back(seq_frame(kTypeOut, i, 60 + i * 29));
    }
    const Bytes too_big = seq_frame(kTypeOut, 9999, 3000);  // the link's MTU is 1500
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
    auto arrived = o.far->receive(kTypeOut, inject.size() + 1, 1000);
    NS_CHECK_EQ(arrived.size(), inject.size());
    for (std::size_t i = 0; i < inject.size(); ++i) {
      NS_CHECK(arrived[i] == inject[i]);
    }
    // What this backend injected is never captured back.
    std::array<FrameView, 16> out{};
    std::size_t looped = 0;
    const Drained d = drain(
        dp, out, c.max_batch, 300,
        [&](std::span<const std::uint8_t> f) {
          looped += ethertype_of(f) == kTypeOut ? 1 : 0;
          return std::string();
        },
        [] { return false; });
    NS_TRY(d.error);
    NS_CHECK_EQ(looped, 0u);
    const DatapathStats s = dp.stats();
    NS_CHECK_EQ(s.tx_frames, inject.size());
    NS_CHECK_EQ(s.tx_bytes, out_bytes);
    NS_CHECK_EQ(s.tx_dropped, 1u);  // the oversized frame, and only it
    return "";
  });
}

TEST_P(DatapathConformance, BatchesNeverExceedTheirLimitsAndLoseNothing) {
  run_case(GetParam(), {}, [](const BackendCase& c, Opened& o) -> std::string {
    Datapath& dp = *o.dp;
    // More frames than any backend's ceiling, so at least one receive() comes back full with
    // frames left behind, which wait_fd() must still announce.
    const std::uint32_t n_in = static_cast<std::uint32_t>(std::max<std::size_t>(c.max_batch, 64) + 20);
    const auto len = [](std::uint32_t i) { return std::size_t{100} + i % 7; };
    for (std::uint32_t i = 0; i < n_in; ++i) {
      NS_CHECK(o.far->send(seq_frame(kTypeIn, i, len(i))));
    }
    InOrder order;
    order.len = len;
    std::vector<FrameView> out(256);
    // An empty span takes nothing and loses nothing.
    NS_CHECK(wait_readable(dp.wait_fd(), 2000));
    NS_CHECK_EQ(dp.receive(std::span<FrameView>()), 0u);
    // One at a time for a while ...
    Drained d = drain(dp, std::span(out).first(1), c.max_batch, 2000, std::ref(order), [&] { return order.next >= 5; });
    NS_TRY(d.error);
    NS_CHECK_EQ(order.next, 5u);
    // ... then as many as the backend gives.
    d = drain(dp, out, c.max_batch, 2000, std::ref(order), [&] { return order.next == n_in; });
    NS_TRY(d.error);
    NS_CHECK_EQ(order.next, n_in);
    NS_CHECK(d.max_batch > 1);
    NS_CHECK_EQ(dp.stats().rx_dropped, 0u);

    // send() takes a burst bigger than any internal one (afpacket and DPDK send 64 at a time).
    std::vector<Bytes> burst;
    std::vector<FrameView> views;
    for (std::uint32_t i = 0; i < 300; ++i) {
      burst.push_back(seq_frame(kTypeOut, i, 60 + i % 50));
    }
    for (const auto& f : burst) {
      views.push_back(FrameView{f});
    }
    NS_CHECK_EQ(dp.send(views), burst.size());
    auto arrived = o.far->receive(kTypeOut, burst.size(), 2000);
    NS_CHECK_EQ(arrived.size(), burst.size());
    for (std::size_t i = 0; i < burst.size(); ++i) {
      NS_CHECK(arrived[i] == burst[i]);
    }
    NS_CHECK_EQ(dp.send(std::span<const FrameView>()), 0u);
    NS_CHECK_EQ(dp.stats().tx_dropped, 0u);
    return "";
  });
}

TEST_P(DatapathConformance, RingOverflowCountsExactlyTheLostFrames) {
  run_case(GetParam(), {.small_ring = true}, [](const BackendCase& c, Opened& o) -> std::string {
    Datapath& dp = *o.dp;
    constexpr std::uint32_t kN = 100;
    for (std::uint32_t i = 0; i < kN; ++i) {
      NS_CHECK(o.far->send(seq_frame(kTypeIn, i, 1000)));
    }
    std::array<FrameView, 64> out{};
    std::uint64_t got = 0;
    std::int64_t last_seq = -1;
    const Drained d = drain(
        dp, out, c.max_batch, 300,
        [&](std::span<const std::uint8_t> f) {
          if (ethertype_of(f) != kTypeIn) {
            return std::string();
          }
          // What survives is intact and in order, with gaps where frames were lost.
          const std::uint32_t seq = seq_of(f);
          const Bytes want = seq_frame(kTypeIn, seq, 1000);
          if (static_cast<std::int64_t>(seq) <= last_seq || seq >= kN ||
              !std::equal(f.begin(), f.end(), want.begin(), want.end())) {
            return fmt::format("frame with seq {} after {} is out of order or damaged", seq, last_seq);
          }
          last_seq = seq;
          ++got;
          return std::string();
        },
        [] { return false; });
    NS_TRY(d.error);
    const DatapathStats s = dp.stats();
    NS_CHECK(got < kN);  // the ring did overflow
    if (!c.ring_drops_counted) {
      std::fprintf(stderr, "[ gap ] %s: %llu of %u frames lost in the ring, rx_dropped %llu\n", c.name.c_str(),
                   static_cast<unsigned long long>(kN - got), kN, static_cast<unsigned long long>(s.rx_dropped));
      NS_CHECK(got > 0);
      return "";
    }
    NS_CHECK(s.rx_dropped > 0);
    NS_CHECK_EQ(got + s.rx_dropped, std::uint64_t{kN});
    return "";
  });
}

TEST_P(DatapathConformance, VnetHeadersWhereOffered) {
  run_case(GetParam(), {}, [](const BackendCase& c, Opened& o) -> std::string {
    Datapath& dp = *o.dp;
    auto* v = dynamic_cast<VnetDatapath*>(&dp);
    if (!c.vnet) {
      // Not offered: either no VnetDatapath at all, or one that refuses send_vnet() (counted as
      // tx_dropped) and reports no headers, so the router never offers the extended overlay.
      if (v != nullptr) {
        const Bytes f = seq_frame(kTypeOut, 1, 100);
        const FrameView fv{f};
        const VnetHeader h;
        NS_CHECK_EQ(v->send_vnet(std::span(&fv, 1), std::span(&h, 1)), 0u);
        NS_CHECK_EQ(dp.stats().tx_dropped, 1u);
        NS_CHECK(o.far->receive(kTypeOut, 1, 200).empty());
        NS_CHECK(o.far->send(seq_frame(kTypeIn, 0, 100)));
        NS_CHECK(wait_readable(dp.wait_fd(), 2000));
        std::array<FrameView, 4> out{};
        NS_CHECK(dp.receive(out) >= 1);
        NS_CHECK(v->rx_vnet_headers().empty());
      }
      return "";
    }
    NS_CHECK(v != nullptr);
    // In: a 20000-byte TSO superframe and a plain frame, sent with their headers.
    const Bytes payload = pattern(20000, 11);
    const Bytes super = tcp_superframe(payload, 1000);
    const VnetHeader tso = tso_header(1448);
    NS_CHECK(o.far->send(super, &tso));
    const Bytes plain = seq_frame(kTypeIn, 7, 200);
    const VnetHeader none;
    NS_CHECK(o.far->send(plain, &none));
    std::array<FrameView, 8> out{};
    std::optional<Bytes> whole;
    VnetHeader whole_h;
    bool plain_seen = false;
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    while ((!whole || !plain_seen) && Clock::now() < deadline) {
      if (!wait_readable(dp.wait_fd(), 100)) {
        continue;
      }
      const std::size_t n = dp.receive(out);
      const auto hs = v->rx_vnet_headers();
      NS_CHECK_EQ(hs.size(), n);
      for (std::size_t i = 0; i < n; ++i) {
        auto p = parse_ipv4_frame(out[i].data);
        if (p && p->ip.protocol == 6) {
          NS_CHECK(!whole);  // one frame: never segmented
          whole = Bytes(out[i].data.begin(), out[i].data.end());
          whole_h = hs[i];
        } else if (ethertype_of(out[i].data) == kTypeIn) {
          NS_CHECK(std::equal(out[i].data.begin(), out[i].data.end(), plain.begin(), plain.end()));
          NS_CHECK(!hs[i].is_gso());
          plain_seen = true;
        }
      }
    }
    NS_CHECK(whole.has_value());
    NS_CHECK(plain_seen);
    NS_CHECK_EQ(whole->size(), super.size());
    NS_CHECK_EQ(whole_h.gso_kind(), kVnetGsoTcpv4);
    NS_CHECK_EQ(whole_h.gso_size, 1448);
    NS_CHECK(whole_h.needs_csum());
    NS_CHECK_EQ(whole_h.csum_start, 34);
    NS_CHECK_EQ(whole_h.csum_offset, 16);
    // Completing the partial checksum gives a valid unsegmented packet.
    Bytes copy = *whole;
    NS_CHECK(complete_checksum(copy, whole_h));
    auto q = parse_ipv4_frame(copy);
    NS_CHECK(q.has_value());
    NS_CHECK_EQ(transport_checksum(q->ip.src, q->ip.dst, 6, q->payload), 0);

    // Out: the superframe goes back whole with its header, and a plain frame with none.
    // (One at a time: the far end's receive() discards frames of other types.)
    const FrameView super_view{*whole};
    NS_CHECK_EQ(v->send_vnet(std::span(&super_view, 1), std::span(&whole_h, 1)), 1u);
    std::vector<VnetHeader> hdrs;
    auto back = o.far->receive(kEtherTypeIpv4, 1, 2000, &hdrs);
    NS_CHECK_EQ(back.size(), 1u);
    NS_CHECK(back[0] == *whole);
    NS_CHECK_EQ(hdrs[0].gso_kind(), kVnetGsoTcpv4);
    NS_CHECK_EQ(hdrs[0].gso_size, 1448);
    hdrs.clear();
    const Bytes plain_out = seq_frame(kTypeOut, 8, 300);
    const FrameView plain_view{plain_out};
    NS_CHECK_EQ(v->send_vnet(std::span(&plain_view, 1), std::span(&none, 1)), 1u);
    auto back_plain = o.far->receive(kTypeOut, 1, 2000, &hdrs);
    NS_CHECK_EQ(back_plain.size(), 1u);
    NS_CHECK(back_plain[0] == plain_out);
    NS_CHECK(!hdrs[0].is_gso());
    NS_CHECK_EQ(dp.stats().rx_dropped, 0u);
    NS_CHECK_EQ(dp.stats().tx_dropped, 0u);
    return "";
  });
}

/// Receives until the frame with sequence `seq` (kTypeIn) shows up or `limit` passes.
bool receive_seq(Datapath& dp, std::uint32_t seq, std::chrono::milliseconds limit) {
  std::array<FrameView, 16> out{};
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (!wait_readable(dp.wait_fd(), 100)) {
      continue;
    }
    const std::size_t n = dp.receive(out);
    for (std::size_t i = 0; i < n; ++i) {
      if (ethertype_of(out[i].data) == kTypeIn && seq_of(out[i].data) == seq) {
        return true;
      }
    }
  }
  return false;
}

/// Lets the backend go idle: nothing to receive, and (with a poll timer) back at its slow rate.
void go_idle(Datapath& dp) {
  std::array<FrameView, 16> out{};
  for (int i = 0; i < 40; ++i) {
    (void)dp.receive(out);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  (void)dp.receive(out);
}

TEST_P(DatapathConformance, WakesWhenAFrameArrivesAfterIdle) {
  run_case(GetParam(), {}, [](const BackendCase& c, Opened& o) -> std::string {
    Datapath& dp = *o.dp;
    go_idle(dp);
    if (c.exact_wakeups) {
      NS_CHECK(!wait_readable(dp.wait_fd(), 50));  // idle: the poller sleeps
    }
    // 1. A poller blocked in poll() wakes when a frame arrives from another thread.
    std::atomic<bool> sending{false};
    std::atomic<bool> sent{false};
    std::thread sender([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      sending.store(true);
      (void)o.far->send(seq_frame(kTypeIn, 1, 98));
      sent.store(true);
    });
    bool woke_early = false;
    bool seen = false;
    const auto end = Clock::now() + std::chrono::seconds(3);
    while (!seen && Clock::now() < end) {
      if (!wait_readable(dp.wait_fd(), 2000)) {
        continue;
      }
      if (!sending.load()) {
        woke_early = true;
      }
      // NB: only receive() once the sender is done (the fake's queue is single-threaded).
      while (!sent.load()) {
        std::this_thread::yield();
      }
      std::array<FrameView, 4> out{};
      const std::size_t n = dp.receive(out);
      for (std::size_t i = 0; i < n; ++i) {
        seen = seen || (ethertype_of(out[i].data) == kTypeIn && seq_of(out[i].data) == 1);
      }
    }
    sender.join();
    NS_CHECK(seen);
    if (c.exact_wakeups) {
      NS_CHECK(!woke_early);  // an exact wait_fd() sleeps until the frame comes
    }
    // 2. One frame after a quiet spell, 21 times: the median must meet the backend's budget.
    std::vector<double> us;
    for (std::uint32_t t = 0; t < 21; ++t) {
      go_idle(dp);
      const Bytes f = seq_frame(kTypeIn, 100 + t, 98);  // a ping-sized frame
      const auto t0 = Clock::now();
      NS_CHECK(o.far->send(f));
      NS_CHECK(receive_seq(dp, 100 + t, std::chrono::seconds(2)));
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    std::fprintf(stderr, "[ wake-up ] %s: one frame after idle -> receive(): p50 %.1f us, max %.1f us\n",
                 c.name.c_str(), us[us.size() / 2], us.back());
    NS_CHECK(us[us.size() / 2] < c.wake_p50_us);
    return "";
  });
}

// Every backend this binary was built with has its own ctest entry (the list CMake registered),
// so none can be compiled in and silently never run.
TEST(ConformanceCases, EveryBackendBuiltHasACtestEntry) {
  std::vector<std::string> registered;
  std::string list = WEFT_CONFORMANCE_CASES;
  for (std::size_t start = 0; start <= list.size();) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    registered.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  std::vector<std::string> built;
  for (const auto& c : all_backends()) {
    built.push_back(c.name);
  }
  std::sort(registered.begin(), registered.end());
  std::sort(built.begin(), built.end());
  EXPECT_EQ(built, registered);
}

INSTANTIATE_TEST_SUITE_P(Backends, DatapathConformance, ::testing::ValuesIn(all_backends()),
                         [](const ::testing::TestParamInfo<BackendCase>& info) { return info.param.name; });

}  // namespace
}  // namespace weft::datapath::test
