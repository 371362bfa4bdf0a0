#pragma once
// IPAM wire and persistence encodings (spec §6.2, §6.7): gob structs exactly as Weave 2.8 declares
// them, so a weft peer and a Weave peer share one ring.
//
// Gossip (tag 4), broadcast (tag 6) and RingUpdate bodies are one gob stream holding a
// `gossipState`:
//
//   gossipState { 1 Now int            unix seconds, legacy, ignored on receive
//                 2 Nicknames map[PeerName]string
//                 3 Paxos map[NodeID]NodeClaims   nil (absent) for observers and once a ring
//                                                 exists; present-but-empty for an elector with
//                                                 no claims yet (count 00 on the wire)
//                 4 Ring *Ring }                  only when the ring is non-empty
//   Ring        { 1 Start uint  2 End uint  3 Peer uint (sender)  4 Entries []entry
//                 5 Seeds []PeerName }
//   entry       { 1 Token uint  2 Peer uint  3 Version uint  4 Free uint }
//   NodeID      { 1 Name uint  2 UID uint }
//   ProposalID  { 1 Round uint  2 Proposer NodeID }            (nested structs always sent)
//   AcceptedValue { 1 Value []PeerName  2 Origin ProposalID }
//   NodeClaims  { 1 Promise ProposalID  2 Accepted ProposalID  3 AcceptedVal AcceptedValue }
//
// Unicast (tag 5) payload:
//
//   <[1] type> <gob body>     type 0 SpaceRequest       body = Range{1 Start uint, 2 End uint}
//                             type 1 RingUpdate         body = gossipState
//                             type 2 SpaceRequestDenied body = Range
//
// NB: a Go peer panics on an empty unicast payload and hangs on an unknown type byte; we send only
// 0, 1, 2 and answer anything else with an error (which closes that connection), never a crash.
//
// Persistence values (boltdb bucket `top`, one fresh encoder each): `peername` = PeerName (uint
// singleton), `ring` = Ring, `ownedAddresses` = map[string]ownedData{1 IsContainer bool,
// 2 Cidrs []CIDR{1 Addr uint, 2 PrefixLen int}}.
//
// Decoders never throw: bad bytes, wrong field kinds and out-of-range numbers (a Token that does
// not fit Go's uint32 Address, a PeerName wider than 48 bits) are errors.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/ipv4.hpp"
#include "weft/base/peer_name.hpp"
#include "weft/base/result.hpp"
#include "weft/mesh/gob.hpp"

namespace weft::ipam {

// ---- ring

/// One ring token: `peer` owns [token, next token) (wrapping). Only the owner changes its entries,
/// bumping `version`; `free` is the owner's count of free addresses in that range.
struct RingEntry {
  Ipv4 token;
  PeerName peer;
  std::uint32_t version = 0;
  std::uint32_t free = 0;
  bool operator==(const RingEntry&) const = default;
};

/// The ring as it travels (and as it is persisted).
struct WireRing {
  Ipv4Range range;  ///< [Start, End): the --ipalloc-range; End <= 0xffffffff (Go's uint32 Address)
  PeerName peer;    ///< the peer whose copy this is (the sender)
  std::vector<RingEntry> entries;
  std::vector<PeerName> seeds;
  bool operator==(const WireRing&) const = default;
};

// ---- paxos

struct NodeId {
  PeerName name;
  std::uint64_t uid = 0;
  auto operator<=>(const NodeId&) const = default;
};

/// Ordered by (round, proposer name, proposer uid), which is Weave's `precedes`.
struct ProposalId {
  std::uint64_t round = 0;  ///< 0 = unset; valid proposals start at round 1
  NodeId proposer;
  auto operator<=>(const ProposalId&) const = default;
  bool valid() const { return round > 0; }
};

struct AcceptedValue {
  std::vector<PeerName> value;
  ProposalId origin;
  bool operator==(const AcceptedValue&) const = default;
};

struct NodeClaims {
  ProposalId promise;
  ProposalId accepted;
  AcceptedValue accepted_val;
  bool operator==(const NodeClaims&) const = default;
};

using PaxosState = std::map<NodeId, NodeClaims>;

// ---- gossipState

struct GossipState {
  std::int64_t now = 0;
  std::map<PeerName, std::string> nicknames;
  std::optional<PaxosState>
      paxos;  ///< nullopt = nil map (absent); engaged+empty = sent with count 0
  std::optional<WireRing> ring;
  bool operator==(const GossipState&) const = default;
};

/// A gossipState to encode, by reference: the allocator's state holds every peer's nickname and
/// the whole ring, which it need not copy for each message (issue 19).
struct GossipStateRef {
  std::int64_t now = 0;
  const std::map<PeerName, std::string>* nicknames = nullptr;  ///< nullptr = empty
  const PaxosState* paxos = nullptr;                           ///< nullptr = nil
  const WireRing* ring = nullptr;                              ///< nullptr = nil
  static GossipStateRef of(const GossipState& s) {
    return {s.now, &s.nicknames, s.paxos ? &*s.paxos : nullptr, s.ring ? &*s.ring : nullptr};
  }
};

// ---- persistence

/// `ownedAddresses` value: which addresses an ident (container ID, weave:expose, ...) holds.
struct OwnedData {
  bool is_container = false;
  std::vector<Cidr> cidrs;  ///< address (host bits kept) with the subnet's prefix length
  bool operator==(const OwnedData&) const = default;
};
using OwnedMap = std::map<std::string, OwnedData>;

// ---- unicast

enum class UnicastType : std::uint8_t {
  space_request = 0,
  ring_update = 1,
  space_request_denied = 2
};

struct UnicastMessage {
  UnicastType type = UnicastType::space_request;
  Ipv4Range range;    ///< space_request / space_request_denied
  GossipState state;  ///< ring_update
};

/// The Go type descriptions, field for field (names matter to Go's decoder; type names are what Go
/// itself sends, so golden tests can compare bytes).
struct IpamGobTypes {
  gob::TypePtr node_id, proposal_id, value_slice, accepted_value, node_claims, paxos, nicknames;
  gob::TypePtr entry, entries, seeds, ring, gossip_state, range, cidr, owned, owned_map;
  static const IpamGobTypes& get();
};

// Encoders. The Encoder& forms let tests pin Go's type ids (Encoder::assign_ids); the Bytes forms
// use a fresh encoder per message, as Weave does.
//
// A gossipState without paxos claims (every message once a ring exists) is written straight from
// the struct; with claims it goes through a gob::Value tree. Both write the same bytes
// (ipam_codec_test compares them), and encode_gossip_state_generic is the Value path alone.
Result<void> encode_gossip_state(gob::Encoder& enc, const GossipState& s);
Bytes encode_gossip_state(const GossipState& s);
Bytes encode_gossip_state(const GossipStateRef& s);
Result<void> encode_gossip_state_generic(gob::Encoder& enc, const GossipState& s);
Result<void> encode_range(gob::Encoder& enc, Ipv4Range r);
Bytes encode_range(Ipv4Range r);
Result<void> encode_ring(gob::Encoder& enc, const WireRing& r);
Bytes encode_ring(const WireRing& r);
Result<void> encode_owned(gob::Encoder& enc, const OwnedMap& m);
Bytes encode_owned(const OwnedMap& m);
Bytes encode_peer_name(PeerName p);

Bytes encode_space_request(Ipv4Range r);
Bytes encode_space_request_denied(Ipv4Range r);
Bytes encode_ring_update(const GossipState& s);
Bytes encode_ring_update(const GossipStateRef& s);

// Decoders (one gob stream, exactly one value).
//
// decode_gossip_state decodes the shape Weave and weft send straight into GossipState when the
// message has no paxos claims; anything else, including every error, goes through the generic
// gob decoder, so the results are decode_gossip_state_generic's (fuzz_ipam compares them).
Result<GossipState> decode_gossip_state(ByteSpan in);
Result<GossipState> decode_gossip_state_generic(ByteSpan in);
/// The fast path alone: nullopt for another shape, paxos claims, or input the generic decoder
/// refuses.
std::optional<GossipState> decode_gossip_state_fast(ByteSpan in);
Result<Ipv4Range> decode_range(ByteSpan in);
Result<WireRing> decode_ring(ByteSpan in);
Result<OwnedMap> decode_owned(ByteSpan in);
Result<PeerName> decode_peer_name(ByteSpan in);
Result<UnicastMessage> decode_unicast(ByteSpan in);

// Tree-level binders, for codecs that embed these values.
Result<GossipState> gossip_state_from_value(const gob::Value& v);
gob::Value gossip_state_to_value(const GossipState& s);

}  // namespace weft::ipam
