// Fuzzes the IPAM decoders (gossipState, Ring, Range, ownedAddresses, unicast messages) and an
// allocator's gossip entry points with arbitrary bytes. Must never crash; whatever decodes must
// re-encode to the same value; after every message, accepted or rejected, the allocator's
// invariants still hold; and everything the allocator sends in reply decodes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "weft/ipam/allocator.hpp"
#include "weft/ipam/ipam_codec.hpp"

namespace {

using namespace weft;
using namespace weft::ipam;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_ipam: %s %s\n", what, detail.c_str());
  std::abort();
}

const PeerName kA(0xaabbccddee01u);
const PeerName kB(0xaabbccddee02u);

struct Mesh final : MeshView {
  bool is_known(PeerName p) const override { return p == kB; }
  bool has_route(PeerName p) const override { return p == kB; }
  std::vector<PeerName> peers() const override { return {kB}; }
  std::size_t direct_peer_count() const override { return 1; }
};

/// Everything the allocator sends must be something we (and so Weave) can decode.
struct CheckingSender final : mesh::GossipSender {
  void unicast(PeerName, Bytes payload) override {
    if (!decode_unicast(payload).ok()) fail("sent an undecodable unicast");
  }
  void broadcast(Bytes payload) override {
    if (!decode_gossip_state(payload).ok()) fail("sent an undecodable broadcast");
  }
  void gossip(Bytes payload) override { broadcast(std::move(payload)); }
};

template <typename T, typename D, typename E>
void round_trip(ByteSpan in, D decode, E encode, const char* what) {
  auto v = decode(in);
  if (!v.ok()) return;
  auto again = decode(encode(*v));
  if (!again.ok() || !(*again == *v)) fail("round trip changed", what);
}

std::unique_ptr<Allocator> make(IpallocInit init, const Mesh& mesh, Random& rng,
                                CheckingSender& out) {
  AllocatorConfig cfg;
  cfg.self = kA;
  cfg.uid = 1;
  cfg.nickname = "hostA";
  cfg.universe = *Cidr::parse("10.32.0.0/12");  // the range of the vectors and the capture
  cfg.init = std::move(init);
  auto a = Allocator::create(std::move(cfg), mesh, rng, null_logger());
  if (!a.ok()) fail("create", a.error().message);
  (*a)->start(TimePoint{}, out);
  return std::move(a).value();
}

void check(const Allocator& a, const char* after) {
  auto r = a.check_invariants();
  if (!r.ok()) fail(after, r.error().message);
}

void drive(Allocator& a, ByteSpan in, CheckingSender& out) {
  TimePoint now{};
  (void)a.on_gossip(now, kB, in, out);
  check(a, "on_gossip");
  (void)a.on_broadcast(now, kB, in, out);
  check(a, "on_broadcast");
  (void)a.on_unicast(now, kB, in, out);
  check(a, "on_unicast");
  for (std::uint8_t type : {0, 1, 2}) {
    Bytes typed{type};
    typed.insert(typed.end(), in.begin(), in.end());
    (void)a.on_unicast(now, kB, typed, out);
    check(a, "on_unicast(typed)");
  }
  // Still usable afterwards.
  a.allocate(now, "after", *Cidr::parse("10.32.0.0/12"), true, out);
  a.on_tick(now + kTickInterval, out);
  check(a, "allocate after");
  for (auto& c : a.take_completions()) {
    if (c.address && !a.universe().contains(c.address->addr())) fail("allocated outside the range");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteSpan in(data, size);
  {
    // The fast gossipState path yields exactly what the generic decoder yields, or declines.
    auto generic = decode_gossip_state_generic(in);
    auto fast = decode_gossip_state_fast(in);
    if (fast && (!generic.ok() || *fast != *generic)) fail("fast gossipState decoder disagrees");
    // The typed encoder writes exactly the Value encoder's bytes.
    if (generic.ok()) {
      Bytes typed, tree;
      gob::Encoder et(typed), eg(tree);
      if (encode_gossip_state(et, *generic).ok() != encode_gossip_state_generic(eg, *generic).ok() || typed != tree)
        fail("typed gossipState encoder disagrees");
    }
  }
  round_trip<GossipState>(
      in, decode_gossip_state, [](const GossipState& s) { return encode_gossip_state(s); },
      "gossipState");
  round_trip<Ipv4Range>(
      in, decode_range, [](Ipv4Range r) { return encode_range(r); }, "Range");
  round_trip<WireRing>(
      in, decode_ring, [](const WireRing& r) { return encode_ring(r); }, "Ring");
  round_trip<OwnedMap>(
      in, decode_owned, [](const OwnedMap& m) { return encode_owned(m); }, "owned");
  (void)decode_unicast(in);
  (void)decode_peer_name(in);

  Mesh mesh;
  CheckingSender out;
  SeededRandom rng(size);
  // A peer with a ring (seeded like the vectors) and a few allocations.
  IpallocInit seed;
  seed.mode = IpallocInit::Mode::seed;
  seed.seeds = {kA, kB};
  auto ringed = make(seed, mesh, rng, out);
  for (int i = 0; i < 3; ++i)
    ringed->allocate(TimePoint{}, "c" + std::to_string(i), *Cidr::parse("10.32.0.0/12"), true, out);
  ringed->claim(TimePoint{}, "x", *Cidr::parse("10.40.0.9/12"), true, false, out);
  drive(*ringed, in, out);
  // An elector without a ring (paxos paths), and an observer.
  IpallocInit consensus;
  consensus.consensus_peers = 2;
  auto elector = make(consensus, mesh, rng, out);
  elector->prime(TimePoint{}, out);
  drive(*elector, in, out);
  IpallocInit observer;
  observer.mode = IpallocInit::Mode::observer;
  auto obs = make(observer, mesh, rng, out);
  drive(*obs, in, out);
  return 0;
}
