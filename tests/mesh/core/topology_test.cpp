#include "weft/mesh/topology.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace weft::mesh {
namespace {

PeerName N(std::uint64_t v) { return PeerName(v); }

ConnectionSummary conn(std::uint64_t to, bool established = true, bool outbound = true) {
  return ConnectionSummary{N(to), "10.0.0.1:6783", outbound, established};
}

PeerSummary peer(std::uint64_t name, std::uint64_t uid, std::uint64_t version,
                 std::vector<ConnectionSummary> conns = {}, std::uint16_t short_id = 1,
                 bool has_short_id = true, std::string nick = "") {
  PeerSummary p;
  p.name = N(name);
  p.nickname = nick.empty() ? "nick-" + std::to_string(name) : nick;
  p.uid = uid;
  p.version = version;
  p.short_id = short_id;
  p.has_short_id = has_short_id;
  p.connections = std::move(conns);
  return p;
}

PeerIdentity ident(std::uint64_t name, std::uint64_t uid, std::uint16_t short_id) {
  return PeerIdentity{N(name), "nick-" + std::to_string(name), uid, ShortID::from_uint(short_id)};
}

std::vector<PeerName> names(std::initializer_list<std::uint64_t> vs) {
  std::vector<PeerName> out;
  for (auto v : vs) {
    out.push_back(N(v));
  }
  return out;
}

class TopologyTest : public ::testing::Test {
 protected:
  // Our name sits in the middle so tests can place peers below and above it.
  static constexpr std::uint64_t kSelf = 0x500;
  static constexpr std::uint64_t kSelfUid = 777;

  void SetUp() override { topo_.emplace(ident(kSelf, kSelfUid, 100), rng_); }
  Topology& t() { return *topo_; }
  void invariants() {
    auto r = t().check_invariants();
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  UpdateOutcome apply(const std::vector<PeerSummary>& u) {
    auto r = t().apply_update(u);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    invariants();
    return r.ok() ? *r : UpdateOutcome{};
  }
  /// Connect us to `name`, which then gossips itself as version `version` connected back to us.
  void connect(std::uint64_t name, std::uint64_t uid, std::uint64_t version = 1) {
    ASSERT_TRUE(t().add_connection(ident(name, uid, static_cast<std::uint16_t>(name & 0xfff)),
                                   "10.0.0.2:6783", true, true)
                    .ok());
    apply({peer(name, uid, version, {conn(kSelf)}, static_cast<std::uint16_t>(name & 0xfff))});
  }

  SeededRandom rng_{42};
  std::optional<Topology> topo_;
};

// ---- identity and local connections ----

TEST_F(TopologyTest, StartsWithOnlyOurselves) {
  EXPECT_EQ(t().self_name(), N(kSelf));
  EXPECT_EQ(t().version(), 0u);
  ASSERT_EQ(t().peers().size(), 1u);
  EXPECT_EQ(t().self().uid, kSelfUid);
  EXPECT_EQ(t().self().short_id, 100);
  EXPECT_TRUE(t().self().has_short_id);
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(100)), N(kSelf));
  invariants();
}

TEST_F(TopologyTest, RandomShortIdWhenNoneGiven) {
  SeededRandom rng(7);
  Topology t2(PeerIdentity{N(1), "x", 5, std::nullopt}, rng);
  EXPECT_TRUE(t2.self().has_short_id);
  EXPECT_LE(t2.self().short_id, ShortID::kMax);
  EXPECT_TRUE(t2.check_invariants().ok());
}

TEST_F(TopologyTest, LocalConnectionChangesBumpVersion) {
  auto r = t().add_connection(ident(0x10, 11, 5), "10.0.0.9:6783", true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->local_version_bumped);
  EXPECT_EQ(t().version(), 1u);
  invariants();
  // The remote is entered from its handshake identity at version 0.
  const auto* p = t().find(N(0x10));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->uid, 11u);
  EXPECT_EQ(p->version, 0u);
  EXPECT_EQ(p->short_id, 5);
  EXPECT_TRUE(p->has_short_id);
  const auto& c = t().self().connections.at(N(0x10));
  EXPECT_EQ(c.remote_tcp_addr, "10.0.0.9:6783");
  EXPECT_TRUE(c.outbound);
  EXPECT_FALSE(c.established);

  auto e = t().mark_established(N(0x10));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->local_version_bumped);
  EXPECT_EQ(t().version(), 2u);
  EXPECT_TRUE(t().self().connections.at(N(0x10)).established);
  // Already established: nothing to announce.
  e = t().mark_established(N(0x10));
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->local_version_bumped);
  EXPECT_EQ(t().version(), 2u);

  auto d = t().remove_connection(N(0x10));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->local_version_bumped);
  EXPECT_EQ(t().version(), 3u);
  EXPECT_TRUE(t().self().connections.empty());
  invariants();
}

TEST_F(TopologyTest, LocalConnectionErrors) {
  EXPECT_FALSE(t().add_connection(ident(kSelf, 999, 3), "a", true).ok());  // ourself / collision
  EXPECT_FALSE(t().add_connection(ident(0, 1, 3), "a", true).ok());
  EXPECT_FALSE(t().add_connection(ident(0x10, 0, 3), "a", true).ok());
  ASSERT_TRUE(t().add_connection(ident(0x10, 11, 3), "a", true).ok());
  EXPECT_FALSE(t().add_connection(ident(0x10, 11, 3), "b", false).ok());  // duplicate
  EXPECT_FALSE(t().remove_connection(N(0x11)).ok());
  EXPECT_FALSE(t().mark_established(N(0x11)).ok());
  EXPECT_EQ(t().version(), 1u);
  invariants();
}

TEST_F(TopologyTest, KnownRemoteKeepsGossipedStateOnConnect) {
  apply({peer(0x10, 11, 9, {}, 7)});
  ASSERT_TRUE(t().add_connection(ident(0x10, 12 /* restarted */, 8), "a", false).ok());
  const auto* p = t().find(N(0x10));
  EXPECT_EQ(p->uid, 11u);
  EXPECT_EQ(p->version, 9u);
  EXPECT_EQ(p->short_id, 7);
  invariants();
}

// ---- merge rules (§2.3) ----

TEST_F(TopologyTest, NewPeerTakesConnectionsAndPlaceholdersAreCreated) {
  auto out = apply({peer(0x20, 21, 3, {conn(0x30, true), conn(0x10, false, false)})});
  EXPECT_EQ(out.received, names({0x20}));
  EXPECT_EQ(out.improved, names({0x20}));
  EXPECT_EQ(out.placeholders, names({0x10, 0x30}));
  EXPECT_FALSE(out.local_version_bumped);

  const auto* p = t().find(N(0x20));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->version, 3u);
  EXPECT_EQ(p->uid, 21u);
  ASSERT_EQ(p->connections.size(), 2u);
  EXPECT_FALSE(p->connections.at(N(0x10)).established);
  EXPECT_FALSE(p->connections.at(N(0x10)).outbound);
  EXPECT_TRUE(p->connections.at(N(0x30)).established);
  for (auto ph : {0x10, 0x30}) {
    const auto* q = t().find(N(ph));
    ASSERT_NE(q, nullptr);
    EXPECT_TRUE(q->is_placeholder());
    EXPECT_EQ(q->version, 0u);
    EXPECT_FALSE(q->has_short_id);
    EXPECT_TRUE(q->connections.empty());
  }
  EXPECT_EQ(t().version(), 0u);
}

TEST_F(TopologyTest, PeerNamedInUpdateIsNotAPlaceholder) {
  auto out = apply({peer(0x20, 21, 3, {conn(0x30)}), peer(0x30, 31, 2, {conn(0x20)})});
  EXPECT_EQ(out.improved, names({0x20, 0x30}));
  EXPECT_TRUE(out.placeholders.empty());
  EXPECT_EQ(t().find(N(0x30))->uid, 31u);
}

TEST_F(TopologyTest, PlaceholderIsReplacedByRealEntryButNotByAnotherPlaceholder) {
  apply({peer(0x20, 21, 3, {conn(0x30)})});
  // A relayed placeholder (uid 0, version 0, no short id) does not improve on ours.
  auto out = apply({peer(0x30, 0, 0, {}, 0, false, "")});
  EXPECT_TRUE(out.improved.empty());
  out = apply({peer(0x30, 31, 1, {conn(0x20)})});
  EXPECT_EQ(out.improved, names({0x30}));
  EXPECT_FALSE(t().find(N(0x30))->is_placeholder());
}

TEST_F(TopologyTest, OlderVersionIsIgnored) {
  apply({peer(0x20, 21, 5, {conn(0x30)}, 9)});
  auto out = apply({peer(0x20, 21, 4, {}, 10)});
  EXPECT_TRUE(out.improved.empty());
  EXPECT_EQ(out.received, names({0x20}));
  EXPECT_EQ(t().find(N(0x20))->version, 5u);
  EXPECT_EQ(t().find(N(0x20))->connections.size(), 1u);
  // Even a much larger uid does not win against a newer version.
  out = apply({peer(0x20, 9999, 4)});
  EXPECT_TRUE(out.improved.empty());
}

TEST_F(TopologyTest, NewerVersionReplacesEverything) {
  apply({peer(0x20, 21, 5, {conn(0x30)}, 9, true, "old")});
  auto out =
      apply({peer(0x20, 3 /* lower uid is fine */, 6, {conn(0x40, false)}, 10, true, "new")});
  EXPECT_EQ(out.improved, names({0x20}));
  const auto* p = t().find(N(0x20));
  EXPECT_EQ(p->version, 6u);
  EXPECT_EQ(p->uid, 3u);
  EXPECT_EQ(p->nickname, "new");
  EXPECT_EQ(p->short_id, 10);
  ASSERT_EQ(p->connections.size(), 1u);
  EXPECT_TRUE(p->connections.contains(N(0x40)));
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(10)), N(0x20));
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(9)), std::nullopt);
}

TEST_F(TopologyTest, EqualVersionTieBreaksOnUid) {
  apply({peer(0x20, 50, 5, {}, 9)});
  auto out = apply({peer(0x20, 49, 5, {conn(0x30)})});  // lower uid: ignored
  EXPECT_TRUE(out.improved.empty());
  EXPECT_EQ(t().find(N(0x20))->uid, 50u);
  out = apply({peer(0x20, 51, 5, {conn(0x30)}, 9)});  // higher uid: replaces
  EXPECT_EQ(out.improved, names({0x20}));
  EXPECT_EQ(t().find(N(0x20))->uid, 51u);
  EXPECT_EQ(t().find(N(0x20))->connections.size(), 1u);
}

TEST_F(TopologyTest, EqualVersionAndUidTieBreaksOnShortId) {
  // Current entry has a short id: an equal one never replaces it, with or without an id.
  apply({peer(0x20, 50, 5, {}, 9, true)});
  EXPECT_TRUE(apply({peer(0x20, 50, 5, {conn(0x30)}, 9, true)}).improved.empty());
  EXPECT_TRUE(apply({peer(0x20, 50, 5, {conn(0x30)}, 0, false)}).improved.empty());

  // Current entry lacks one (old peer): an equal entry without one is ignored, with one replaces.
  apply({peer(0x21, 60, 5, {}, 0, false)});
  EXPECT_TRUE(apply({peer(0x21, 60, 5, {conn(0x30)}, 0, false)}).improved.empty());
  auto out = apply({peer(0x21, 60, 5, {conn(0x30)}, 44, true)});
  EXPECT_EQ(out.improved, names({0x21}));
  EXPECT_TRUE(t().find(N(0x21))->has_short_id);
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(44)), N(0x21));
}

TEST_F(TopologyTest, OurOwnEntryIsNeverOverwritten) {
  ASSERT_TRUE(t().add_connection(ident(0x10, 11, 3), "a", true).ok());
  auto before = t().self().summary();
  // Same incarnation, whatever the version: ignored.
  auto out = apply({peer(kSelf, kSelfUid, 100, {conn(0x99)}, 5)});
  EXPECT_FALSE(out.local_version_bumped);
  EXPECT_TRUE(out.improved.empty());
  EXPECT_EQ(t().self().summary(), before);
  // Stale incarnation at an older version: ignored.
  out = apply({peer(kSelf, 1234, 0, {conn(0x99)})});
  EXPECT_FALSE(out.local_version_bumped);
  EXPECT_EQ(t().self().summary(), before);
  EXPECT_FALSE(t().find(N(0x99)) == nullptr);  // the placeholder is still created
}

TEST_F(TopologyTest, StaleIncarnationOfUsPushesOurVersionBeyondIt) {
  ASSERT_TRUE(t().add_connection(ident(0x10, 11, 3), "a", true).ok());  // version 1
  auto out = apply({peer(kSelf, 1234, 1, {conn(0x99)})});               // equal counts
  EXPECT_TRUE(out.local_version_bumped);
  EXPECT_EQ(t().version(), 2u);
  out = apply({peer(kSelf, 1234, 40)});
  EXPECT_TRUE(out.local_version_bumped);
  EXPECT_EQ(t().version(), 41u);
  EXPECT_TRUE(out.improved.empty());
  EXPECT_EQ(t().self().uid, kSelfUid);
  EXPECT_EQ(t().self().connections.size(), 1u);
  EXPECT_TRUE(t().self().connections.contains(N(0x10)));
}

TEST_F(TopologyTest, VersionLimits) {
  // Other peers may be anywhere below 2^63; a stale us may push our counter to 2^62 at most.
  EXPECT_EQ(apply({peer(0x20, 21, (std::uint64_t{1} << 63) - 1)}).improved, names({0x20}));
  auto out = apply({peer(kSelf, 5, (std::uint64_t{1} << 62) - 1)});
  EXPECT_TRUE(out.local_version_bumped);
  EXPECT_EQ(t().version(), std::uint64_t{1} << 62);
  // Our own incarnation's entry is ignored whatever its version.
  EXPECT_FALSE(apply({peer(kSelf, kSelfUid, (std::uint64_t{1} << 63) - 1)}).local_version_bumped);
}

TEST_F(TopologyTest, ImprovedIsSortedAndExcludesIgnoredPeers) {
  apply({peer(0x40, 1, 5)});
  auto out =
      apply({peer(0x60, 1, 1), peer(0x40, 1, 4), peer(0x20, 1, 1), peer(0x50, 0, 0, {}, 0, false)});
  EXPECT_EQ(out.received, names({0x60, 0x40, 0x20, 0x50}));
  // 0x50 arrives as a placeholder: it is new, so mesh counts it as improved.
  EXPECT_EQ(out.improved, names({0x20, 0x50, 0x60}));
}

// ---- hostile updates ----

TEST_F(TopologyTest, HostileUpdatesAreRejectedAndLeaveTheTableUntouched) {
  connect(0x20, 21, 4);
  apply({peer(0x30, 31, 2, {conn(0x20)}, 12)});
  const auto before = t().all_summaries();
  const auto version = t().version();

  const PeerSummary good = peer(0x40, 41, 1, {conn(0x20)}, 13);
  std::vector<std::pair<const char*, std::vector<PeerSummary>>> cases = {
      {"short id > 4095", {good, peer(0x41, 1, 1, {}, 4096)}},
      {"huge short id", {peer(0x41, 1, 1, {}, 0xffff)}},
      {"short id > 4095 without HasShortID", {peer(0x41, 1, 1, {}, 5000, false)}},
      {"duplicate peer", {good, peer(0x50, 1, 1), good}},
      {"duplicate peer with other content", {peer(0x30, 31, 3), peer(0x30, 31, 4)}},
      {"unknown name", {good, peer(0, 1, 1)}},
      {"connection to unknown name", {peer(0x41, 1, 1, {conn(0)})}},
      {"connection to itself", {peer(0x41, 1, 1, {conn(0x41)})}},
      {"duplicate connection", {peer(0x41, 1, 1, {conn(0x20), conn(0x20, false)})}},
      {"uid 0 with a version", {peer(0x41, 0, 3, {}, 0, false)}},
      {"uid 0 with connections", {peer(0x41, 0, 0, {conn(0x20)}, 0, false)}},
      {"uid 0 with a short id", {peer(0x41, 0, 0, {}, 7, true)}},
      {"exhausted version", {peer(kSelf, 5, ~std::uint64_t{0})}},
      {"version that would push ours to wrap", {peer(kSelf, 5, ~std::uint64_t{0} - 1)}},
      {"stale us pushing ours beyond 2^62", {peer(kSelf, 5, std::uint64_t{1} << 62)}},
      {"version 2^63", {good, peer(0x41, 1, std::uint64_t{1} << 63)}},
      {"bad entry for us", {peer(kSelf, 5, 100, {}, 9999)}},
  };
  for (const auto& [what, update] : cases) {
    auto r = t().apply_update(update);
    EXPECT_FALSE(r.ok()) << what;
    if (!r.ok()) {
      EXPECT_FALSE(r.error().message.empty()) << what;
    }
    EXPECT_EQ(t().all_summaries(), before) << what;
    EXPECT_EQ(t().version(), version) << what;
    invariants();
  }
  // The same good peer alone is accepted.
  EXPECT_EQ(apply({good}).improved, names({0x40}));
}

TEST_F(TopologyTest, EmptyUpdateIsANoOp) {
  auto out = apply({});
  EXPECT_TRUE(out.received.empty());
  EXPECT_TRUE(out.improved.empty());
  EXPECT_EQ(t().peers().size(), 1u);
}

// ---- garbage collection ----

TEST_F(TopologyTest, GcRemovesOnlyUnreachableUnreferencedPeers) {
  connect(0x20, 21);
  // 0x20 -> 0x30 (not established) -> 0x31 (placeholder); 0x40 lists a connection to 0x20, but
  // nobody reachable lists one to 0x40; 0x41 is a placeholder only 0x40 knows.
  apply({peer(0x20, 21, 2, {conn(kSelf), conn(0x30, false)}),
         peer(0x30, 31, 1, {conn(0x20, false), conn(0x31)}),
         peer(0x40, 41, 1, {conn(0x20), conn(0x41)})});
  ASSERT_NE(t().find(N(0x41)), nullptr);
  auto gc = t().garbage_collect();
  invariants();
  ASSERT_EQ(gc.removed.size(), 2u);
  EXPECT_EQ(gc.removed[0].name, N(0x40));
  EXPECT_EQ(gc.removed[0].uid, 41u);
  EXPECT_EQ(gc.removed[0].nickname, "nick-64");
  EXPECT_EQ(gc.removed[1].name, N(0x41));
  for (auto kept : {kSelf, std::uint64_t{0x20}, std::uint64_t{0x30}, std::uint64_t{0x31}}) {
    EXPECT_NE(t().find(N(kept)), nullptr) << kept;
  }
  EXPECT_TRUE(t().garbage_collect().removed.empty());
}

TEST_F(TopologyTest, GcAfterDisconnectAndLocalRefs) {
  connect(0x20, 21);
  apply({peer(0x20, 21, 2, {conn(kSelf), conn(0x30)}), peer(0x30, 31, 1, {conn(0x20)}, 30)});
  t().add_local_ref(ident(0x30, 31, 30));  // e.g. a handshake in progress
  ASSERT_TRUE(t().remove_connection(N(0x20)).ok());
  auto gc = t().garbage_collect();
  invariants();
  ASSERT_EQ(gc.removed.size(), 1u);
  EXPECT_EQ(gc.removed[0].name, N(0x20));
  ASSERT_NE(t().find(N(0x30)), nullptr);  // pinned
  // The pinned, unreachable 0x30 still lists 0x20: a dangling name is tolerated.
  EXPECT_TRUE(t().find(N(0x30))->connections.contains(N(0x20)));
  t().release_local_ref(N(0x30));
  t().release_local_ref(N(0x30));  // extra releases are harmless
  gc = t().garbage_collect();
  ASSERT_EQ(gc.removed.size(), 1u);
  EXPECT_EQ(gc.removed[0].name, N(0x30));
  EXPECT_EQ(t().peers().size(), 1u);
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(30)), std::nullopt);
  invariants();
}

TEST_F(TopologyTest, LocalConnectionKeepsPeerWithoutAnyGossip) {
  ASSERT_TRUE(t().add_connection(ident(0x20, 21, 3), "a", true).ok());
  EXPECT_TRUE(t().garbage_collect().removed.empty());
  EXPECT_NE(t().find(N(0x20)), nullptr);
}

// ---- summaries ----

TEST_F(TopologyTest, SummariesListUsFirstThenNamedPeers) {
  connect(0x20, 21, 3);
  apply({peer(0x30, 31, 2, {conn(0x20), conn(0x35)})});
  auto s = t().summaries(names({0x30, 0x99 /* unknown */, 0x30, kSelf, 0x20}));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].name, N(kSelf));
  EXPECT_EQ(s[1].name, N(0x30));
  EXPECT_EQ(s[2].name, N(0x20));
  EXPECT_EQ(s[0].version, t().version());
  ASSERT_EQ(s[0].connections.size(), 1u);
  EXPECT_EQ(s[0].connections[0].name, N(0x20));
  EXPECT_EQ(s[1].connections.size(), 2u);

  auto relay = t().summaries(names({0x30}), false);
  ASSERT_EQ(relay.size(), 1u);
  EXPECT_EQ(relay[0].name, N(0x30));

  auto all = t().all_summaries();
  ASSERT_EQ(all.size(), 4u);  // 0x20, 0x30, placeholder 0x35, us (0x500)
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_LT(all[i - 1].name, all[i].name);
  }
  EXPECT_EQ(all[0].uid, 21u);
  EXPECT_EQ(all[1].uid, 31u);
  EXPECT_EQ(all[2].uid, 0u);
  EXPECT_EQ(all[3].uid, kSelfUid);
}

TEST_F(TopologyTest, SummariesRoundTripIntoAnotherTopology) {
  connect(0x20, 21, 3);
  apply({peer(0x30, 31, 2, {conn(0x20)}, 66)});
  SeededRandom rng(9);
  Topology other(ident(0x20, 21, 0x20), rng);
  auto out = other.apply_update(t().all_summaries());
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(other.check_invariants().ok());
  for (const auto& s : t().all_summaries()) {
    if (s.name == N(0x20)) {
      continue;
    }
    const auto* p = other.find(s.name);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->summary(), s);
  }
}

// ---- ShortID collisions (§2.7) ----

TEST_F(TopologyTest, LowerNamedPeerTakingOurShortIdMakesUsMove) {
  auto out = apply({peer(0x20 /* < kSelf */, 21, 1, {}, 100)});
  EXPECT_TRUE(out.local_version_bumped);
  EXPECT_TRUE(out.short_ids_invalidated);
  EXPECT_NE(t().self().short_id, 100);
  EXPECT_EQ(t().version(), 1u);
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(100)), N(0x20));
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(t().self().short_id)), N(kSelf));
}

TEST_F(TopologyTest, HigherNamedPeerWithOurShortIdDoesNotMoveUs) {
  auto out = apply({peer(0x900 /* > kSelf */, 21, 1, {}, 100)});
  EXPECT_FALSE(out.local_version_bumped);
  EXPECT_FALSE(out.short_ids_invalidated);
  EXPECT_EQ(t().self().short_id, 100);
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(100)), N(kSelf));
}

TEST_F(TopologyTest, CollisionBetweenOthersPromotesLowestAndInvalidates) {
  EXPECT_FALSE(apply({peer(0x30, 1, 1, {}, 7)}).short_ids_invalidated);
  EXPECT_FALSE(apply({peer(0x40, 1, 1, {}, 7)}).short_ids_invalidated);  // higher: secondary
  EXPECT_TRUE(apply({peer(0x20, 1, 1, {}, 7)}).short_ids_invalidated);   // lower: principal
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(7)), N(0x20));
  // The principal moves away: the lowest of the others takes over.
  auto out = apply({peer(0x20, 1, 2, {}, 8)});
  EXPECT_TRUE(out.short_ids_invalidated);
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(7)), N(0x30));
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(8)), N(0x20));
  // A secondary moving away is not an invalidation of id 7.
  out = apply({peer(0x40, 1, 2, {}, 9)});
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(7)), N(0x30));
  EXPECT_FALSE(out.local_version_bumped);
}

TEST_F(TopologyTest, ReusingAFreedShortIdInvalidates) {
  apply({peer(0x30, 1, 1, {}, 7)});
  auto out = apply({peer(0x30, 1, 2, {}, 8)});  // 7 freed, 8 fresh
  EXPECT_FALSE(out.short_ids_invalidated);
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(7)), std::nullopt);
  out = apply({peer(0x40, 1, 1, {}, 7)});  // re-use of a freed id
  EXPECT_TRUE(out.short_ids_invalidated);
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(7)), N(0x40));
}

TEST_F(TopologyTest, NewConnectionFromLowerPeerWithOurIdMakesUsMove) {
  auto r = t().add_connection(ident(0x20, 21, 100), "a", true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->short_ids_invalidated);
  EXPECT_NE(t().self().short_id, 100);
  EXPECT_EQ(t().version(), 2u);  // the connection and the new id
  invariants();
}

TEST_F(TopologyTest, WhenAllShortIdsAreTakenWeRetryAfterGc) {
  // 4096 lower-named peers hold every id. All but 0x33 (id 77) are pinned, so GC frees only 77.
  std::vector<PeerSummary> update;
  for (std::uint64_t i = 0; i < 4096; ++i) {
    update.push_back(peer(0x100000 + i, 1, 1, {}, static_cast<std::uint16_t>(i)));
  }
  SeededRandom rng(3);
  Topology big(ident(0xffffff, 9, 100), rng);
  auto out = big.apply_update(update);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->short_ids_invalidated);
  EXPECT_FALSE(out->local_version_bumped);  // nowhere to go
  EXPECT_EQ(big.self().short_id, 100);
  EXPECT_EQ(big.peer_by_short_id(*ShortID::from_uint(100)), N(0x100000 + 100));
  ASSERT_TRUE(big.check_invariants().ok());
  for (std::uint64_t i = 0; i < 4096; ++i) {
    if (i != 77) {
      big.add_local_ref(ident(0x100000 + i, 1, static_cast<std::uint16_t>(i)));
    }
  }
  auto gc = big.garbage_collect();
  ASSERT_EQ(gc.removed.size(), 1u);
  EXPECT_EQ(gc.removed[0].name, N(0x100000 + 77));
  EXPECT_TRUE(gc.local_version_bumped);
  EXPECT_EQ(big.self().short_id, 77);
  EXPECT_EQ(big.peer_by_short_id(*ShortID::from_uint(77)), N(0xffffff));
  EXPECT_EQ(big.version(), 1u);
  auto inv = big.check_invariants();
  EXPECT_TRUE(inv.ok()) << inv.error().message;
}

TEST_F(TopologyTest, ShortIdChoiceIsDeterministicForASeed) {
  auto run = [](std::uint64_t seed) {
    SeededRandom rng(seed);
    Topology t(ident(0x500, 1, 100), rng);
    EXPECT_TRUE(t.apply_update({peer(0x20, 21, 1, {}, 100)}).ok());
    return t.self().short_id;
  };
  EXPECT_EQ(run(5), run(5));
}

TEST_F(TopologyTest, SetShortIdForTest) {
  auto out = t().set_short_id_for_test(*ShortID::from_uint(5));
  EXPECT_TRUE(out.local_version_bumped);
  EXPECT_EQ(t().self().short_id, 5);
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(5)), N(kSelf));
  EXPECT_EQ(t().peer_by_short_id(*ShortID::from_uint(100)), std::nullopt);
  invariants();
}

}  // namespace
}  // namespace weft::mesh
