#pragma once
// The IPAM allocator core (spec §6; Weave's ipam.Allocator): the ring, this peer's space, the
// ident -> addresses map, paxos while the ring is being created, and the operations that wait for
// space or consensus. It is the GossipChannel for "IPallocation".
//
// Pure and single-threaded (house style R1/R4): no sockets, no clocks, no randomness except the
// injected Random&. The shell owns one Allocator on the router strand and
//   * registers it with MeshCore::add_channel(kChannelName, alloc), so gossip arrives through the
//     GossipChannel callbacks;
//   * calls start() once, then on_tick() at or after next_wake() (every 5 s);
//   * submits operations (allocate / claim / prime) with a GossipSender obtained from
//     MeshCore::sender(kChannelName, now, fx), and applies fx afterwards;
//   * after *every* call into the allocator (including the mesh callbacks), first persists what
//     dirty() reports (ipam_store.hpp: persist_to), then drains take_completions() and answers the
//     HTTP requests waiting on those RequestIds. Persisting before answering is what makes an
//     address handed out survive kill -9. The shell may batch that write over several calls
//     (group commit), except when dirty().before_sends is set: then it writes the state *before*
//     the call's sends (the GossipSender's effects) leave.
//
// Operations that cannot finish at once (no ring yet, no free space, a claim of an address another
// peer owns) stay pending and are retried on every ring change and every tick; they complete later
// through take_completions(). A client that goes away calls cancel().
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/base/ipv4.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/random.hpp"
#include "weft/base/result.hpp"
#include "weft/ipam/ipam_codec.hpp"
#include "weft/ipam/paxos.hpp"
#include "weft/ipam/ring.hpp"
#include "weft/ipam/space.hpp"
#include "weft/ipam/status.hpp"
#include "weft/mesh/gossip_channel.hpp"

namespace weft::ipam {

inline constexpr std::string_view kChannelName = "IPallocation";
inline constexpr Duration kTickInterval = std::chrono::seconds(5);
inline constexpr Duration kContainerDiedTimeout = std::chrono::seconds(30);
/// The ident for "no container": the address is filed under its own text (`10.32.0.7`).
inline constexpr std::string_view kNoContainerId = "_";
/// A claim of an address owned by a peer we have no route to fails after this many tries
/// (unless noErrorOnUnknown, which keeps trying in the background).
inline constexpr int kClaimUnreachableTries = 5;
inline constexpr std::uint64_t kMinSubnetSize = 4;

/// `--ipalloc-init`: consensus[=N] (default), seed=NAME,..., observer.
struct IpallocInit {
  enum class Mode { consensus, seed, observer };
  Mode mode = Mode::consensus;
  std::optional<std::uint32_t> consensus_peers;  ///< consensus=N: quorum N/2+1
  std::vector<PeerName> seeds;                   ///< seed=...: as given (normalised on use)
  static Result<IpallocInit> parse(std::string_view s);
};

/// A subnet for allocation: a network address (no host bits) with at least 4 addresses. Errors
/// carry Weave's texts (`invalid subnet - bits after network prefix are not all zero: ...`).
Result<Cidr> parse_cidr_subnet(std::string_view s);
/// `--ipalloc-default-subnet`: a network (host bits dropped, as Weave) of at least 4 addresses
/// inside the range; defaults to the range itself when the flag is absent.
Result<Cidr> parse_default_subnet(const Cidr& universe, std::string_view s);
/// [network+1, broadcast): where allocations in a subnet come from.
Ipv4Range host_range(const Cidr& subnet);

/// What the allocator needs to know of the mesh; the shell implements it over MeshCore (topology
/// peer table, unicast-all routes, connection-maker targets). Called on the router strand during
/// allocator calls only.
class MeshView {
 public:
  virtual ~MeshView() = default;
  /// The peer is in the topology peer table (reachable or not). Never asked about ourselves.
  virtual bool is_known(PeerName peer) const = 0;
  /// A unicast sent to the peer now can arrive (there is a unicast-all route).
  virtual bool has_route(PeerName peer) const = 0;
  /// All peers in the topology except us, for status ("waiting for ...").
  virtual std::vector<PeerName> peers() const = 0;
  /// Direct-peer targets (command line / `weave connect`), excluding ones found to be ourselves;
  /// the quorum guess when --ipalloc-init has no consensus=N.
  virtual std::size_t direct_peer_count() const = 0;
};

/// An address a container already has when IPAM starts (claimed before anything else).
struct PreClaim {
  std::string ident;
  bool is_container = true;
  Cidr cidr;
};

/// What ipam_store.hpp's load_from() found in the state file.
struct PersistedState {
  std::optional<PeerName> peer_name;
  std::optional<WireRing> ring;
  std::optional<OwnedMap> owned;
};

struct AllocatorConfig {
  PeerName self;
  std::uint64_t uid = 0;  ///< this process's mesh UID (paxos NodeID)
  std::string nickname;
  Cidr universe;  ///< --ipalloc-range (host bits are dropped), at least 4 addresses
  IpallocInit init;
  std::vector<PreClaim> pre_claims;
  std::optional<PersistedState> persisted;
  /// Unix seconds for gossipState.Now (legacy, ignored by every receiver); null sends 0.
  std::function<std::int64_t()> wall_seconds;
};

using RequestId = std::uint64_t;
enum class OpKind : std::uint8_t { allocate, claim, prime };

/// The outcome of a submitted operation, reported once.
struct Completion {
  RequestId id = 0;
  OpKind kind = OpKind::allocate;
  std::optional<Cidr> address;  ///< allocate: the address with the subnet's prefix length
  std::optional<Error> error;   ///< the HTTP 400 text (claims: without the "Unable to claim: ")
  bool cancelled = false;       ///< answer 200 "cancelled"
  bool ok() const { return !error && !cancelled; }
};

/// Which persisted values changed since the last clear_dirty().
struct Dirty {
  bool ring = false;   ///< `peername` and `ring`
  bool owned = false;  ///< `ownedAddresses`
  /// Space was given to another peer: the ring must be on disk before the sends of this call go
  /// out, so a kill -9 right after cannot leave this peer believing it still owns the range (the
  /// peers would then refuse each other's connections). Implies `ring`; cleared with it.
  bool before_sends = false;
  bool any() const { return ring || owned; }
};

class Allocator final : public mesh::GossipChannel {
 public:
  /// Validates the config and restores persisted state when it belongs to us (same peer name,
  /// same range, non-empty ring); otherwise the state is marked dirty so the shell overwrites it.
  /// An invalid persisted ring is an error, never a silent reset.
  static Result<std::unique_ptr<Allocator>> create(AllocatorConfig config, const MeshView& mesh,
                                                   Random& rng, Logger log);

  /// Once, after the channel is registered: creates the seeded ring (seed mode, nothing restored)
  /// and runs the pre-claims if state was restored.
  void start(TimePoint now, mesh::GossipSender& out);

  // ---- operations (HTTP /ip*, /ring). Each returns an id whose Completion may already be queued.

  /// POST /ip/{id}[/{net}/{len}]: the ident's existing address in `subnet`, else a new one.
  /// `subnet` should come from parse_cidr_subnet(); one outside the range fails with Weave's
  /// `range ... out of bounds: ...`.
  RequestId allocate(TimePoint now, std::string ident, Cidr subnet, bool is_container,
                     mesh::GossipSender& out);
  /// PUT /ip/{id}/{ip}/{len}: records `cidr.addr()` for the ident. With `no_error_on_unknown` it
  /// succeeds at once when the owner is unknown or unreachable, and keeps trying.
  RequestId claim(TimePoint now, std::string ident, Cidr cidr, bool is_container,
                  bool no_error_on_unknown, mesh::GossipSender& out);
  /// GET /ring: completes once the ring exists (starting consensus if needed).
  RequestId prime(TimePoint now, mesh::GossipSender& out);
  /// The client went away: a pending operation completes as cancelled. No-op if already done.
  void cancel(RequestId id);
  std::vector<Completion> take_completions();
  bool has_completions() const { return !completions_.empty(); }

  /// GET /ip/{id}[/{net}/{len}]: the ident's addresses inside `r` (use host_range(subnet)).
  std::vector<Cidr> lookup(std::string_view ident, Ipv4Range r) const;
  /// GET /ip: every ident's addresses.
  const OwnedMap& owned() const { return owned_; }
  /// DELETE /ip/{id}/{ip}: `Free: address X not found for ID` if the ident does not hold it.
  Result<void> free(std::string_view ident, Ipv4 addr);
  /// DELETE /ip/{id}: frees all the ident's addresses and cancels its pending operations;
  /// `Delete: no addresses for ID` if it had none.
  Result<void> remove(std::string_view ident);

  // ---- container lifecycle (Docker events; §6.5)
  void container_died(TimePoint now,
                      std::string_view ident);  ///< freed after 30 s unless restarted
  void container_started(std::string_view ident);
  void container_destroyed(std::string_view ident);  ///< freed now
  /// Startup: drops container allocations whose ident is not in `running`.
  void prune_owned(const std::set<std::string>& running);

  // ---- administration
  /// DELETE /peer/{name or nickname} (rmpeer): takes over the peer's ranges (Version += 100) and
  /// broadcasts. Returns the number of addresses gained (0 for an unknown peer or ourselves).
  std::uint64_t admin_takeover(TimePoint now, std::string_view name_or_nickname,
                               mesh::GossipSender& out);
  /// DELETE /peer (reset): cancels everything, hands all our ranges to an heir (Version += 100),
  /// clears our space and broadcasts. Later operations complete as cancelled.
  void shutdown(TimePoint now, mesh::GossipSender& out);
  /// The mesh garbage-collected a peer: forget its nickname unless it still owns ranges.
  void peer_gone(PeerName peer);

  // ---- timers
  /// Retries (proposals, space requests, claims) and container-death timeouts. Returns next_wake().
  TimePoint on_tick(TimePoint now, mesh::GossipSender& out);
  /// The mesh's routes changed. Operations that found no reachable peer to ask (a donor, a
  /// claimed address's owner) are retried now instead of at the next tick; a no-op otherwise, so
  /// it is cheap to call on every topology change.
  void on_routes_changed(TimePoint now, mesh::GossipSender& out);
  TimePoint next_wake() const { return next_tick_; }

  // ---- GossipChannel ("IPallocation", spec §3 and §6.2)
  std::vector<Bytes> full_state(TimePoint now) override;
  /// Tag 4: merged with the sender treated as unknown; never relayed (returns nullopt).
  Result<std::optional<Bytes>> on_gossip(TimePoint now, PeerName sender, ByteSpan payload,
                                         mesh::GossipSender& out) override;
  /// Tag 6: merged; relays our full current state.
  Result<std::optional<Bytes>> on_broadcast(TimePoint now, PeerName src, ByteSpan payload,
                                            mesh::GossipSender& out) override;
  /// Tag 5: SpaceRequest / RingUpdate / SpaceRequestDenied.
  Result<void> on_unicast(TimePoint now, PeerName src, ByteSpan payload,
                          mesh::GossipSender& out) override;

  // ---- persistence (the shell writes these with ipam_store.hpp)
  Dirty dirty() const { return dirty_; }
  void clear_dirty(Dirty written);
  PeerName self() const { return self_; }
  Bytes encoded_ring() const { return encode_ring(ring_.to_wire()); }
  Bytes encoded_owned() const { return encode_owned(owned_); }
  bool restored() const { return restored_; }

  // ---- status
  /// The `/report` IPAM model, the `/status` line and the `/status/ipam` page (status.hpp).
  IpamStatus status(const Cidr& default_subnet) const;
  Cidr universe() const { return universe_; }
  const Ring& ring() const { return ring_; }
  const Space& space() const { return space_; }
  bool awaiting_consensus() const { return awaiting_; }
  std::size_t pending_count() const {
    return pending_allocates_.size() + pending_claims_.size() + pending_primes_.size();
  }

  /// Ring and space invariants, the space matching the ranges the ring gives us, and every
  /// allocated address held by exactly one ident. Tests call it after every step; debug builds
  /// check it after every call.
  Result<void> check_invariants() const;

 private:
  struct Op {
    RequestId id = 0;  ///< 0 = internal (pre-claim): outcome logged, not reported
    OpKind kind = OpKind::allocate;
    std::string ident;
    Cidr cidr;  ///< allocate: subnet; claim: address/prefix
    bool is_container = false;
    bool no_error_on_unknown = false;
    bool reported = false;
    int unreachable_tries = 0;
    bool waiting_for_route = false;  ///< the last try found nobody reachable to ask
  };
  class Scope;  ///< binds the GossipSender of the current call

  Allocator(AllocatorConfig config, const MeshView& mesh, Random& rng, Logger log);
  Result<void> restore(const PersistedState& p);

  // operations
  RequestId submit(Op op, std::vector<Op>& queue);
  bool try_op(Op& op);
  bool try_allocate(Op& op);
  bool try_claim(Op& op);
  bool try_prime(Op& op);
  void try_ops(std::vector<Op>& ops);
  void try_pending_ops();
  bool have_pending_ops() const { return pending_count() > 0; }
  void report(Op& op, std::optional<Cidr> address, std::optional<Error> error,
              bool cancelled = false);
  void denied_by(Op& op, PeerName owner);
  void cancel_ops(std::vector<Op>& ops);
  bool cancel_ops_for(std::vector<Op>& ops, std::string_view ident);

  // ring life cycle
  void establish_ring();
  void create_ring(const std::vector<PeerName>& peers);
  void ring_updated();
  void propose();
  std::uint32_t quorum() const;
  /// `sender` unknown (PeerName{}) for tag-4 gossip.
  Result<void> update(PeerName sender, ByteSpan payload);
  Result<void> apply_state(PeerName sender, const GossipState& st);
  void donate_space(Ipv4Range r, PeerName to);
  void space_request_denied(PeerName sender, Ipv4Range r);
  void finish_step();
  void report_free_space();
  void remove_dead_containers(TimePoint now);

  // sends
  /// Our gossipState, encoded as a broadcast body or as a RingUpdate unicast.
  Bytes encode_state(bool as_ring_update) const;
  void broadcast_state();
  void send_ring_update(PeerName to);

  // owned addresses
  bool has_owned_by_container(std::string_view ident) const;
  void add_owned(const std::string& ident, Cidr cidr, bool is_container);
  std::vector<Cidr> remove_all_owned(std::string_view ident);
  bool remove_owned(std::string_view ident, Ipv4 addr);
  std::string find_owner(Ipv4 addr) const;
  std::vector<Cidr> owned_in_range(std::string_view ident, Ipv4Range r) const;
  Result<void> remove_ident(std::string_view ident);

  // nicknames
  void prune_nicknames();
  std::optional<PeerName> lookup_peername(std::string_view name) const;
  PeerName pick_peer_for_transfer() const;
  std::string annotate(PeerName p) const;
  std::string annotate(const std::vector<PeerName>& ps) const;
  bool reachable(PeerName p) const;

  PeerName self_;
  std::uint64_t uid_;
  Cidr universe_;
  IpallocInit init_;
  const MeshView& mesh_;
  Random& rng_;
  Logger log_;
  std::function<std::int64_t()> wall_seconds_;
  Ring ring_;
  Space space_;
  OwnedMap owned_;
  std::map<PeerName, std::string> nicknames_;
  std::optional<Paxos> paxos_;
  bool awaiting_ = false;
  bool shutting_down_ = false;
  bool restored_ = false;
  std::vector<Op> pending_primes_, pending_claims_, pending_allocates_;
  std::map<std::string, TimePoint, std::less<>> dead_;
  std::vector<Completion> completions_;
  RequestId next_id_ = 1;
  TimePoint next_tick_{};
  Dirty dirty_;
  mesh::GossipSender* out_ = nullptr;
};

/// The body of DELETE /peer/{name}: `"<n> IPs taken over from <name>\n"`.
std::string format_takeover(std::uint64_t count, std::string_view name);

}  // namespace weft::ipam
