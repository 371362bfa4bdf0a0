#pragma once
// The connection maker (spec §2.5): which addresses to dial and when. Targets come from direct
// peers (launch arguments, POST /connect, persisted peers) and, with discovery on, from the
// connections other peers gossip. Failures back off (2 s x1.5, capped at 6 min, jittered); a
// connection that lived a minute resets the backoff. Pure: the shell dials what refresh() returns
// and reports back.
//
// Bounds (issue 18, item 2: a peer that gossips thousands of fake peers must not make every
// router dial thousands of addresses): at most kMaxDiscoveredTargets targets learned from gossip
// (direct peers are never crowded out), at most kDialBurst dials at once and one more per
// kDialRefill, at most kMaxAttempting dials in flight. refresh() recomputes the targets from the
// topology only after invalidate() (topology or connections changed) or a change of direct peers;
// otherwise it only walks the (bounded) target table, so a failed dial costs O(targets).
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/base/random.hpp"
#include "weft/mesh/mesh_core.hpp"

namespace weft::mesh {

/// "host[:port]" split like Go's net.SplitHostPort (port optional). Errors read like Go's.
struct PeerAddress {
  std::string host;
  std::uint16_t port = 0;  ///< 0 = not given
  static Result<PeerAddress> parse(std::string_view s);
  std::string with_port(std::uint16_t dflt) const;
  bool operator==(const PeerAddress&) const = default;
  auto operator<=>(const PeerAddress&) const = default;
};

class ConnectionMaker {
 public:
  static constexpr Duration kInitialInterval = std::chrono::seconds(2);
  static constexpr Duration kMaxInterval = std::chrono::minutes(6);
  static constexpr Duration kResetAfter = std::chrono::minutes(1);
  static constexpr std::size_t kMaxDiscoveredTargets = 256;
  static constexpr std::size_t kMaxAttempting = 64;
  static constexpr int kDialBurst = 16;
  static constexpr Duration kDialRefill = std::chrono::milliseconds(100);

  ConnectionMaker(std::uint16_t our_port, bool discovery, Random& rng);

  /// Adds (or with replace, replaces) direct peers. Returns one error per peer that fails to parse;
  /// the valid ones are still added.
  std::vector<std::string> initiate(std::span<const std::string> peers, bool replace);
  /// Removes direct peers; existing connections are not closed.
  void forget(std::span<const std::string> peers);
  /// The direct peers as given (for persistence and `weave status targets`), sorted.
  std::vector<std::string> direct_peers() const;

  struct Dial {
    std::string address;  ///< host:port
    bool accept_new_peer = true;
  };
  /// Recomputes targets from the direct peers, discovery over `topology`, and our connections;
  /// returns the dials due now (each target moves to `attempting`).
  std::vector<Dial> refresh(TimePoint now, const Topology& topology,
                            const std::map<ConnId, MeshCore::LocalConn>& conns);
  /// The topology or our connections changed: the next refresh() recomputes the targets.
  void invalidate() { dirty_ = true; }
  /// When refresh() should run again (nullopt: only on change).
  std::optional<TimePoint> next_wake() const { return next_wake_; }

  void on_dial_failed(TimePoint now, const std::string& address, std::string error);
  void on_connected(const std::string& address);
  void on_terminated(TimePoint now, const std::string& address, TimePoint connected_at, std::string error);
  /// Never dial this address again (it is ourselves, or a peer-name collision).
  void never_retry(const std::string& address);

  enum class State { waiting, attempting, connected, suspended };
  struct Target {
    State state = State::waiting;
    std::optional<std::string> last_error;
    TimePoint try_after{};
    Duration try_interval{};
  };
  const std::map<std::string, Target>& targets() const { return targets_; }

 private:
  void backoff(TimePoint now, Target& t);
  void recompute(TimePoint now, const Topology& topology, const std::map<ConnId, MeshCore::LocalConn>& conns);

  std::uint16_t port_;
  bool discovery_;
  Random& rng_;
  std::set<PeerAddress> direct_;
  std::map<std::string, Target> targets_;
  std::set<std::string> never_;
  std::optional<TimePoint> next_wake_;
  bool dirty_ = true;
  std::set<std::string> valid_;        ///< targets wanted now (direct and discovered)
  std::set<std::string> direct_addrs_; ///< the direct peers as host:port
  int dial_tokens_ = kDialBurst;
  TimePoint tokens_at_{};
};

}  // namespace weft::mesh
