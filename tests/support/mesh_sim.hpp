#pragma once
// SimNet for mesh cores (house style R10): N MeshCores over in-memory connections with seeded
// loss and partitions, driven by a fake clock. Deterministic for a given seed.
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "weft/base/logger.hpp"
#include "weft/base/random.hpp"
#include "weft/mesh/mesh_core.hpp"

namespace weft::test {

class MeshSim {
 public:
  explicit MeshSim(std::uint64_t seed) : rng_(seed) {}

  struct Node {
    std::unique_ptr<SeededRandom> rng;
    std::unique_ptr<mesh::MeshCore> core;
    TimePoint wake{};
    bool alive = true;
    bool weft_gossip = false;  ///< offers "WeftGossip: 1" (topology digests)
  };

  /// Nodes added from now on offer topology digests (a weft peer); false = a Weave peer.
  bool weft_gossip = false;

  std::size_t add_node(PeerName name, std::string nick = "", std::uint64_t uid = 0);
  mesh::MeshCore& core(std::size_t i) { return *nodes_.at(i).core; }
  std::size_t size() const { return nodes_.size(); }
  TimePoint now() const { return now_; }

  /// Opens a connection i -> j (i outbound). Returns false if either side refused it.
  bool connect(std::size_t i, std::size_t j);
  void disconnect(std::size_t i, std::size_t j);
  bool connected(std::size_t i, std::size_t j) const;
  /// Node i leaves for good: its connections close (the far ends see them go) and it stops
  /// ticking.
  void kill(std::size_t i);
  bool alive(std::size_t i) const { return nodes_.at(i).alive; }
  /// Runs `f` with an Effects for node i to fill (e.g. through core(i).sender()), then applies it.
  void with_effects(std::size_t i, const std::function<void(mesh::Effects&)>& f);
  /// Messages waiting for delivery.
  std::size_t in_flight() const { return queue_.size(); }
  /// Messages on a link are dropped with this probability (TCP would retransmit; this models
  /// connections that die with data in flight, which gossip must survive).
  void set_loss(double p) { loss_ = p; }
  /// Advances the clock by `d` in steps, delivering messages and running due timers.
  void run(Duration d, Duration step = std::chrono::milliseconds(50));
  /// Hook to observe every delivered message (tests of relaying).
  std::function<void(std::size_t from, std::size_t to, const mesh::ProtocolMessage&)> on_deliver;
  std::uint64_t delivered() const { return delivered_; }
  std::vector<std::pair<std::size_t, std::string>> closes;  ///< (node, reason) of closes seen

 private:
  struct Link {
    std::size_t from, to;
    mesh::ConnId peer_conn;
  };
  struct InFlight {
    mesh::ConnId to_conn;
    std::size_t to;
    mesh::ProtocolMessage msg;
    std::size_t from;
  };
  void apply(std::size_t node, mesh::Effects& fx);
  void close_conn(std::size_t node, mesh::ConnId id);

  SeededRandom rng_;
  std::vector<Node> nodes_;
  std::map<std::pair<std::size_t, mesh::ConnId>, Link> links_;  ///< (node, conn) -> far end
  std::multiset<std::pair<std::size_t, std::size_t>> adjacent_;  ///< (from, to) of each link
  std::deque<InFlight> queue_;
  TimePoint now_{std::chrono::hours(1)};
  mesh::ConnId next_conn_ = 1;
  double loss_ = 0;
  std::uint64_t delivered_ = 0;
};

}  // namespace weft::test
