#pragma once
// LoopbackUnderlay: the in-memory twin of UdpUnderlay (house style R5/R10), after wireguard's
// bindtest. A LoopbackNet joins any number of them by UdpEndpoint; send() delivers synchronously
// into the destination's queue, with optional seeded loss and a path MTU that makes DF sends of
// big datagrams fail with EMSGSIZE exactly as Linux does (payload + 28 > MTU).
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/random.hpp"
#include "weft/datapath/underlay.hpp"

namespace weft::datapath {

class LoopbackUnderlay;

/// The shared medium. Single-threaded, like the code it serves. Underlays may outlive the net
/// and vice versa.
class LoopbackNet {
 public:
  static constexpr int kDefaultMtu = 65536;             ///< Linux loopback
  static constexpr std::size_t kMaxUdpPayload = 65507;  ///< 65535 - 20 - 8

  explicit LoopbackNet(std::uint64_t seed = 1);
  ~LoopbackNet();
  LoopbackNet(const LoopbackNet&) = delete;
  LoopbackNet& operator=(const LoopbackNet&) = delete;

  /// A new underlay bound to `local`. Port 0 picks a free port from 32768 upwards. Binding an
  /// endpoint that is in use returns nullptr.
  std::unique_ptr<LoopbackUnderlay> bind(UdpEndpoint local);
  /// Probability in [0, 1] that a datagram is silently lost (drawn from the seeded Random).
  void set_loss(double p) { state_->loss = p; }
  /// The IP MTU of every path; per-destination overrides win.
  void set_path_mtu(int mtu) { state_->mtu = mtu; }
  void set_path_mtu(UdpEndpoint to, int mtu) { state_->mtu_to[to] = mtu; }
  int path_mtu(UdpEndpoint to) const;
  /// Datagrams delivered into some queue, and lost (to loss or to an unbound endpoint).
  std::uint64_t delivered() const { return state_->delivered; }
  std::uint64_t lost() const { return state_->lost; }

 private:
  friend class LoopbackUnderlay;
  struct State {
    explicit State(std::uint64_t seed) : random(seed) {}
    SeededRandom random;
    double loss = 0;
    int mtu = kDefaultMtu;
    std::map<UdpEndpoint, int> mtu_to;
    std::map<UdpEndpoint, LoopbackUnderlay*> bound;
    std::uint16_t next_port = 32768;
    std::uint64_t delivered = 0;
    std::uint64_t lost = 0;
  };
  std::shared_ptr<State> state_;
};

class LoopbackUnderlay final : public Underlay {
 public:
  ~LoopbackUnderlay() override;
  LoopbackUnderlay(const LoopbackUnderlay&) = delete;
  LoopbackUnderlay& operator=(const LoopbackUnderlay&) = delete;

  // Underlay
  std::size_t receive(std::span<DatagramIn> out) override;
  /// Fails (stopping the batch) with EMSGSIZE for payloads over 65507 bytes, or over
  /// path MTU - 28 when df is set; path_mtu is then reported. Datagrams to unbound endpoints
  /// count as sent, as UDP's do.
  std::size_t send(std::span<const DatagramOut> batch, SendError* err = nullptr) override;
  /// An eventfd that is readable exactly while datagrams are queued.
  int wait_fd() const override { return event_fd_; }
  UnderlayStats stats() const override { return stats_; }

  UdpEndpoint local() const { return local_; }
  std::size_t pending() const { return queue_.size(); }

 private:
  friend class LoopbackNet;
  struct Queued {
    UdpEndpoint from;
    Bytes data;
  };
  LoopbackUnderlay(std::shared_ptr<LoopbackNet::State> net, UdpEndpoint local);
  void deliver(UdpEndpoint from, std::span<const std::uint8_t> data);
  void update_event_fd();

  std::shared_ptr<LoopbackNet::State> net_;
  UdpEndpoint local_;
  int event_fd_ = -1;
  bool signalled_ = false;
  std::deque<Queued> queue_;
  std::vector<Queued> batch_;  ///< datagrams of the last receive(); DatagramIn views point here
  UnderlayStats stats_;
};

/// Same twin under the name the tests of other folders use for it.
using FakeUnderlay = LoopbackUnderlay;

static_assert(std::derived_from<LoopbackUnderlay, Underlay>);

}  // namespace weft::datapath
