#pragma once
// The connection maker (spec §2.5): which addresses to dial and when. Targets come from direct
// peers (launch arguments, POST /connect, persisted peers) and, with discovery on, from the
// connections other peers gossip. Failures back off (2 s x1.5, capped at 6 min, jittered); a
// connection that lived a minute resets the backoff. Pure: the shell dials what refresh() returns
// and reports back.
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

  std::uint16_t port_;
  bool discovery_;
  Random& rng_;
  std::set<PeerAddress> direct_;
  std::map<std::string, Target> targets_;
  std::set<std::string> never_;
  std::optional<TimePoint> next_wake_;
};

}  // namespace weft::mesh
