#pragma once
// FakeDatapath: the in-memory twin of PcapDatapath (house style R5/R10), after wireguard's
// tuntest.ChannelTUN. Tests play the bridge: inject_from_bridge() queues a frame that receive()
// will return, and sent() shows what the code under test injected with send().
#include <concepts>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/datapath/datapath.hpp"

namespace weft::datapath {

class FakeDatapath final : public Datapath {
 public:
  explicit FakeDatapath(std::string name = "fake");
  ~FakeDatapath() override;
  FakeDatapath(const FakeDatapath&) = delete;
  FakeDatapath& operator=(const FakeDatapath&) = delete;

  // Datapath
  std::size_t receive(std::span<FrameView> out) override;
  std::size_t send(std::span<const FrameView> frames) override;
  /// An eventfd that is readable exactly while frames are queued for receive().
  int wait_fd() const override { return event_fd_; }
  DatapathStats stats() const override { return stats_; }
  std::string describe() const override { return name_ + " (fake)"; }

  // The bridge's side.
  /// Queues a frame as if captured from the bridge.
  void inject_from_bridge(Bytes frame);
  /// Frames not yet returned by receive().
  std::size_t pending() const { return queue_.size(); }
  /// Every frame send() accepted, oldest first.
  const std::vector<Bytes>& sent() const { return sent_; }
  /// Returns and forgets what send() accepted so far.
  std::vector<Bytes> take_sent();
  /// Limits how many more frames send() accepts (the rest count as tx_dropped), to exercise a
  /// full kernel queue; nullopt = unlimited (the default).
  void set_send_budget_for_test(std::optional<std::size_t> budget) { send_budget_ = budget; }
  /// Counts frames as dropped before receive(), like a kernel ring overflow.
  void add_rx_dropped_for_test(std::uint64_t n) { stats_.rx_dropped += n; }
  /// Makes send() refuse frames longer than mtu + 14 (counted as tx_dropped), as the kernel
  /// refuses them on a real link; nullopt = no limit (the default).
  void set_mtu_for_test(std::optional<std::size_t> mtu) { mtu_ = mtu; }
  /// Makes inject_from_bridge() drop frames (counted as rx_dropped) while `capacity` frames are
  /// queued, like a full capture ring; nullopt = unbounded (the default).
  void set_capacity_for_test(std::optional<std::size_t> capacity) { capacity_ = capacity; }

 private:
  void update_event_fd();

  std::string name_;
  int event_fd_ = -1;
  bool signalled_ = false;
  std::deque<Bytes> queue_;
  std::vector<Bytes> batch_;  ///< frames of the last receive(); FrameViews point here
  std::vector<Bytes> sent_;
  std::optional<std::size_t> send_budget_;
  std::optional<std::size_t> mtu_;
  std::optional<std::size_t> capacity_;
  DatapathStats stats_;
};

static_assert(std::derived_from<FakeDatapath, Datapath>);

}  // namespace weft::datapath
