#include "weft/ipam/ipam_codec.hpp"

#include <limits>

#include "weft/mesh/gob_scan.hpp"

namespace weft::ipam {

using gob::Kind;
using gob::Value;

const IpamGobTypes& IpamGobTypes::get() {
  static const IpamGobTypes t = [] {
    IpamGobTypes x;
    auto u = gob::uint_type();
    // NB: Go names a struct it first meets as a map key/value or as a pointer-slice element with
    // "" (NodeID, NodeClaims, entry, ownedData); the decoder ignores type names anyway.
    x.node_id = gob::struct_type("", {{"Name", u}, {"UID", u}});
    x.proposal_id = gob::struct_type("ProposalID", {{"Round", u}, {"Proposer", x.node_id}});
    x.value_slice = gob::slice_type("Value", u);
    x.accepted_value =
        gob::struct_type("AcceptedValue", {{"Value", x.value_slice}, {"Origin", x.proposal_id}});
    x.node_claims = gob::struct_type("", {{"Promise", x.proposal_id},
                                          {"Accepted", x.proposal_id},
                                          {"AcceptedVal", x.accepted_value}});
    x.paxos = gob::map_type("GossipState", x.node_id, x.node_claims);
    x.nicknames = gob::map_type("map[mesh.PeerName]string", u, gob::string_type());
    x.entry = gob::struct_type("", {{"Token", u}, {"Peer", u}, {"Version", u}, {"Free", u}});
    x.entries = gob::slice_type("entries", x.entry);
    x.seeds = gob::slice_type("[]mesh.PeerName", u);
    x.ring = gob::struct_type(
        "Ring",
        {{"Start", u}, {"End", u}, {"Peer", u}, {"Entries", x.entries}, {"Seeds", x.seeds}});
    x.gossip_state = gob::struct_type("gossipState", {{"Now", gob::int_type()},
                                                      {"Nicknames", x.nicknames},
                                                      {"Paxos", x.paxos},
                                                      {"Ring", x.ring}});
    x.range = gob::struct_type("Range", {{"Start", u}, {"End", u}});
    x.cidr = gob::struct_type("CIDR", {{"Addr", u}, {"PrefixLen", gob::int_type()}});
    x.owned = gob::struct_type("", {{"IsContainer", gob::bool_type()},
                                    {"Cidrs", gob::slice_type("[]address.CIDR", x.cidr)}});
    x.owned_map = gob::map_type("", gob::string_type(), x.owned);
    return x;
  }();
  return t;
}

namespace {

Value U(std::uint64_t v) { return Value::of_uint(v); }

// ---- value builders (encode side). Nested non-pointer structs are always set: Go always sends
// them, even all-zero.

Value node_id_value(const NodeId& n) {
  auto v = Value::structure();
  v.set("Name", U(n.name.value())).set("UID", U(n.uid));
  return v;
}

Value proposal_value(const ProposalId& p) {
  auto v = Value::structure();
  v.set("Round", U(p.round)).set("Proposer", node_id_value(p.proposer));
  return v;
}

Value peers_value(const std::vector<PeerName>& ps) {
  std::vector<Value> el;
  el.reserve(ps.size());
  for (auto p : ps) el.push_back(U(p.value()));
  return Value::slice(std::move(el));
}

Value claims_value(const NodeClaims& c) {
  auto av = Value::structure();
  av.set("Value", peers_value(c.accepted_val.value))
      .set("Origin", proposal_value(c.accepted_val.origin));
  auto v = Value::structure();
  v.set("Promise", proposal_value(c.promise))
      .set("Accepted", proposal_value(c.accepted))
      .set("AcceptedVal", av);
  return v;
}

Value ring_value(const WireRing& r) {
  std::vector<Value> es;
  es.reserve(r.entries.size());
  for (auto& e : r.entries) {
    auto ev = Value::structure();
    ev.set("Token", U(e.token.value()))
        .set("Peer", U(e.peer.value()))
        .set("Version", U(e.version))
        .set("Free", U(e.free));
    es.push_back(std::move(ev));
  }
  auto v = Value::structure();
  v.set("Start", U(r.range.start()))
      .set("End", U(r.range.end()))
      .set("Peer", U(r.peer.value()))
      .set("Entries", Value::slice(std::move(es)))
      .set("Seeds", peers_value(r.seeds));
  return v;
}

Value range_value(Ipv4Range r) {
  auto v = Value::structure();
  v.set("Start", U(r.start())).set("End", U(r.end()));
  return v;
}

// ---- binders (decode side)

Result<const Value*> sub(const Value& v, std::string_view name, Kind want) {
  auto* f = v.field(name);
  if (!f) return static_cast<const Value*>(nullptr);
  if (f->kind != want) {
    return make_error("gob: field {} is {}, want {}", name, gob::kind_name(f->kind),
                      gob::kind_name(want));
  }
  return f;
}

Result<std::uint32_t> get_u32(const Value& v, std::string_view name) {
  WEFT_TRY(x, v.get_uint(name));
  if (x > std::numeric_limits<std::uint32_t>::max()) {
    return make_error("ipam: field {} = {} overflows uint32", name, x);
  }
  return static_cast<std::uint32_t>(x);
}

Result<PeerName> peer_of(std::uint64_t x, std::string_view what) {
  if (x > 0xFFFF'FFFF'FFFFull)
    return make_error("ipam: {} {:#x} is not a 48-bit peer name", what, x);
  return PeerName(x);
}

Result<PeerName> get_peer(const Value& v, std::string_view name) {
  WEFT_TRY(x, v.get_uint(name));
  return peer_of(x, name);
}

Result<std::vector<PeerName>> get_peers(const Value& v, std::string_view name) {
  WEFT_TRY(s, sub(v, name, Kind::Slice));
  std::vector<PeerName> out;
  if (!s) return out;
  out.reserve(s->elems.size());
  for (auto& e : s->elems) {
    if (e.kind != Kind::Uint)
      return make_error("ipam: {} element is {}, want uint", name, gob::kind_name(e.kind));
    WEFT_TRY(p, peer_of(e.u, name));
    out.push_back(p);
  }
  return out;
}

Result<NodeId> node_id_from(const Value* v) {
  NodeId n;
  if (!v) return n;
  WEFT_TRY(name, get_peer(*v, "Name"));
  WEFT_TRY(uid, v->get_uint("UID"));
  n.name = name;
  n.uid = uid;
  return n;
}

Result<ProposalId> proposal_from(const Value& parent, std::string_view name) {
  WEFT_TRY(v, sub(parent, name, Kind::Struct));
  ProposalId p;
  if (!v) return p;
  WEFT_TRY(round, v->get_uint("Round"));
  WEFT_TRY(prop, sub(*v, "Proposer", Kind::Struct));
  WEFT_TRY(node, node_id_from(prop));
  p.round = round;
  p.proposer = node;
  return p;
}

Result<NodeClaims> claims_from(const Value& v) {
  if (v.kind != Kind::Struct) return make_error("ipam: NodeClaims is {}", gob::kind_name(v.kind));
  NodeClaims c;
  WEFT_TRY(promise, proposal_from(v, "Promise"));
  WEFT_TRY(accepted, proposal_from(v, "Accepted"));
  c.promise = promise;
  c.accepted = accepted;
  WEFT_TRY(av, sub(v, "AcceptedVal", Kind::Struct));
  if (av) {
    WEFT_TRY(val, get_peers(*av, "Value"));
    WEFT_TRY(origin, proposal_from(*av, "Origin"));
    c.accepted_val.value = std::move(val);
    c.accepted_val.origin = origin;
  }
  return c;
}

Result<Ipv4Range> range_from(const Value& v, std::string_view what) {
  if (v.kind != Kind::Struct)
    return make_error("ipam: {} is {}, want struct", what, gob::kind_name(v.kind));
  WEFT_TRY(start, get_u32(v, "Start"));
  WEFT_TRY(end, get_u32(v, "End"));
  return Ipv4Range(start, end);
}

Result<WireRing> ring_from(const Value& v) {
  WEFT_TRY(range, range_from(v, "Ring"));
  WireRing r;
  r.range = range;
  WEFT_TRY(peer, get_peer(v, "Peer"));
  r.peer = peer;
  WEFT_TRY(es, sub(v, "Entries", Kind::Slice));
  if (es) {
    r.entries.reserve(es->elems.size());
    for (auto& ev : es->elems) {
      if (ev.kind != Kind::Struct)
        return make_error("ipam: ring entry is {}", gob::kind_name(ev.kind));
      RingEntry e;
      WEFT_TRY(token, get_u32(ev, "Token"));
      WEFT_TRY(p, get_peer(ev, "Peer"));
      WEFT_TRY(version, get_u32(ev, "Version"));
      WEFT_TRY(free, get_u32(ev, "Free"));
      e.token = Ipv4(token);
      e.peer = p;
      e.version = version;
      e.free = free;
      r.entries.push_back(e);
    }
  }
  WEFT_TRY(seeds, get_peers(v, "Seeds"));
  r.seeds = std::move(seeds);
  return r;
}

/// The first value of a one-message gob stream (Go's Decode reads one value and leaves the rest).
Result<Value> first_value(ByteSpan in) {
  gob::Decoder dec(in);
  WEFT_TRY(v, dec.next());
  if (!v) return make_error("ipam: empty gob stream");
  return std::move(*v);
}

template <typename F>
Bytes fresh(F&& f) {
  Bytes out;
  gob::Encoder enc(out);
  auto r = f(enc);
  // NB: our own values always match our own types; an error here is a programming error.
  if (!r.ok()) return {};
  return out;
}

}  // namespace

namespace {

Value state_value(const GossipStateRef& s) {
  auto nick = Value::map();
  if (s.nicknames) {
    for (auto& [p, n] : *s.nicknames) nick.add_entry(U(p.value()), Value::of_string(n));
  }
  auto v = Value::structure();
  v.set("Now", Value::of_int(s.now)).set("Nicknames", std::move(nick));
  if (s.paxos) {
    auto m = Value::map();
    for (auto& [id, c] : *s.paxos) m.add_entry(node_id_value(id), claims_value(c));
    v.set("Paxos", std::move(m));
  }
  if (s.ring) v.set("Ring", ring_value(*s.ring));
  return v;
}

// ---- typed writers: the bytes Encoder::encode writes for ring_value / state_value, without the
// Value tree (zero fields omitted, nested structs and maps always sent).

using gob::put_uint;
using gob::StructWriter;

void write_ring_body(Bytes& out, const WireRing& r) {
  StructWriter w(out);
  if (r.range.start() != 0) put_uint(w.field(0), r.range.start());
  if (r.range.end() != 0) put_uint(w.field(1), r.range.end());
  if (r.peer.value() != 0) put_uint(w.field(2), r.peer.value());
  if (!r.entries.empty()) {
    auto& o = w.field(3);
    put_uint(o, r.entries.size());
    for (auto& e : r.entries) {
      StructWriter ew(o);
      if (e.token.value() != 0) put_uint(ew.field(0), e.token.value());
      if (e.peer.value() != 0) put_uint(ew.field(1), e.peer.value());
      if (e.version != 0) put_uint(ew.field(2), e.version);
      if (e.free != 0) put_uint(ew.field(3), e.free);
      ew.end();
    }
  }
  if (!r.seeds.empty()) {
    auto& o = w.field(4);
    put_uint(o, r.seeds.size());
    for (auto p : r.seeds) put_uint(o, p.value());
  }
  w.end();
}

void write_state_body(Bytes& out, const GossipStateRef& s) {
  StructWriter w(out);
  if (s.now != 0) gob::put_int(w.field(0), s.now);
  auto& o = w.field(1);
  put_uint(o, s.nicknames ? s.nicknames->size() : 0);
  if (s.nicknames) {
    for (auto& [p, n] : *s.nicknames) {
      put_uint(o, p.value());
      gob::put_string(o, n);
    }
  }
  if (s.ring) write_ring_body(w.field(3), *s.ring);
  w.end();
}

Result<void> encode_state(gob::Encoder& enc, const GossipStateRef& s) {
  auto& type = IpamGobTypes::get().gossip_state;
  if (s.paxos) return enc.encode(type, state_value(s));
  return enc.encode_with(type, [&](Bytes& body) {
    write_state_body(body, s);
    return Result<void>{};
  });
}

}  // namespace

gob::Value gossip_state_to_value(const GossipState& s) { return state_value(GossipStateRef::of(s)); }

Result<GossipState> gossip_state_from_value(const gob::Value& v) {
  if (v.kind != Kind::Struct)
    return make_error("ipam: gossipState is {}, want struct", gob::kind_name(v.kind));
  GossipState s;
  WEFT_TRY(now, v.get_int("Now"));
  s.now = now;
  WEFT_TRY(nick, sub(v, "Nicknames", Kind::Map));
  if (nick) {
    for (auto& [k, n] : nick->entries) {
      if (k.kind != Kind::Uint || n.kind != Kind::String)
        return make_error("ipam: bad Nicknames entry");
      WEFT_TRY(p, peer_of(k.u, "Nicknames key"));
      s.nicknames[p] = n.s;
    }
  }
  WEFT_TRY(paxos, sub(v, "Paxos", Kind::Map));
  if (paxos) {
    PaxosState st;
    for (auto& [k, c] : paxos->entries) {
      if (k.kind != Kind::Struct)
        return make_error("ipam: Paxos key is {}", gob::kind_name(k.kind));
      WEFT_TRY(id, node_id_from(&k));
      WEFT_TRY(claims, claims_from(c));
      st[id] = std::move(claims);
    }
    s.paxos = std::move(st);
  }
  WEFT_TRY(ring, sub(v, "Ring", Kind::Struct));
  if (ring) {
    WEFT_TRY(r, ring_from(*ring));
    s.ring = std::move(r);
  }
  return s;
}

Result<void> encode_gossip_state(gob::Encoder& enc, const GossipState& s) {
  return encode_state(enc, GossipStateRef::of(s));
}
Bytes encode_gossip_state(const GossipState& s) { return encode_gossip_state(GossipStateRef::of(s)); }
Bytes encode_gossip_state(const GossipStateRef& s) {
  return fresh([&](gob::Encoder& e) { return encode_state(e, s); });
}
Result<void> encode_gossip_state_generic(gob::Encoder& enc, const GossipState& s) {
  return enc.encode(IpamGobTypes::get().gossip_state, gossip_state_to_value(s));
}

Result<void> encode_range(gob::Encoder& enc, Ipv4Range r) {
  return enc.encode(IpamGobTypes::get().range, range_value(r));
}
Bytes encode_range(Ipv4Range r) {
  return fresh([&](gob::Encoder& e) { return encode_range(e, r); });
}

Result<void> encode_ring(gob::Encoder& enc, const WireRing& r) {
  return enc.encode_with(IpamGobTypes::get().ring, [&](Bytes& body) {
    write_ring_body(body, r);
    return Result<void>{};
  });
}
Bytes encode_ring(const WireRing& r) {
  return fresh([&](gob::Encoder& e) { return encode_ring(e, r); });
}

Result<void> encode_owned(gob::Encoder& enc, const OwnedMap& m) {
  auto v = Value::map();
  for (auto& [ident, d] : m) {
    std::vector<Value> cs;
    for (auto& c : d.cidrs) {
      auto cv = Value::structure();
      cv.set("Addr", U(c.addr().value())).set("PrefixLen", Value::of_int(c.prefix()));
      cs.push_back(std::move(cv));
    }
    auto od = Value::structure();
    od.set("IsContainer", Value::of_bool(d.is_container)).set("Cidrs", Value::slice(std::move(cs)));
    v.add_entry(Value::of_string(ident), std::move(od));
  }
  return enc.encode(IpamGobTypes::get().owned_map, v);
}
Bytes encode_owned(const OwnedMap& m) {
  return fresh([&](gob::Encoder& e) { return encode_owned(e, m); });
}

Bytes encode_peer_name(PeerName p) {
  return fresh([&](gob::Encoder& e) { return e.encode(gob::uint_type(), U(p.value())); });
}

namespace {
Bytes typed(UnicastType t, Bytes body) {
  Bytes out;
  out.reserve(body.size() + 1);
  out.push_back(static_cast<std::uint8_t>(t));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
}  // namespace

Bytes encode_space_request(Ipv4Range r) {
  return typed(UnicastType::space_request, encode_range(r));
}
Bytes encode_space_request_denied(Ipv4Range r) {
  return typed(UnicastType::space_request_denied, encode_range(r));
}
Bytes encode_ring_update(const GossipState& s) { return encode_ring_update(GossipStateRef::of(s)); }
Bytes encode_ring_update(const GossipStateRef& s) { return typed(UnicastType::ring_update, encode_gossip_state(s)); }

Result<GossipState> decode_gossip_state_generic(ByteSpan in) {
  WEFT_TRY(v, first_value(in));
  return gossip_state_from_value(v);
}

namespace {

// The fast path (issue 19: at 1,000 peers, decoding every IPAM broadcast into a Value tree was
// the simulation's largest cost). It accepts only what the generic decoder plus
// gossip_state_from_value accept, and yields the same; see gob_scan.hpp.
using gob::FieldSpec;
using gob::FieldValue;
constexpr FieldSpec kStateFields[] = {{"Now", gob::builtin::kInt},
                                      {"Nicknames", FieldSpec::kUserType},
                                      {"Paxos", FieldSpec::kUserType},
                                      {"Ring", FieldSpec::kUserType}};
constexpr FieldSpec kRingFields[] = {{"Start", gob::builtin::kUint},
                                     {"End", gob::builtin::kUint},
                                     {"Peer", gob::builtin::kUint},
                                     {"Entries", FieldSpec::kUserType},
                                     {"Seeds", FieldSpec::kUserType}};
constexpr FieldSpec kEntryFields[] = {{"Token", gob::builtin::kUint},
                                      {"Peer", gob::builtin::kUint},
                                      {"Version", gob::builtin::kUint},
                                      {"Free", gob::builtin::kUint}};

constexpr std::uint64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kMaxPeer = 0xFFFF'FFFF'FFFFull;

/// The decode budget, shared by the readers below.
struct FastCtx {
  std::size_t nodes = 1;  // the gossipState struct itself
  std::size_t max_nodes;
  bool node() { return gob::count_node(nodes, max_nodes); }
};

/// True when the stream defines `gossipState` (`wt`) with exactly the shape we send, down to the
/// ring's entries and seeds (Paxos is never read here: present, it goes to the generic decoder).
bool has_state_shape(const gob::Decoder& dec, const gob::Decoder::WireType* wt) {
  if (!gob::has_shape(wt, kStateFields)) return false;
  auto* nick = dec.lookup(gob::field_type(*wt, 1));
  auto* ring = dec.lookup(gob::field_type(*wt, 3));
  if (!nick || nick->kind != gob::Kind::Map || nick->key != gob::builtin::kUint ||
      nick->elem != gob::builtin::kString || !gob::has_shape(ring, kRingFields)) {
    return false;
  }
  auto* entries = dec.lookup(gob::field_type(*ring, 3));
  return gob::is_slice(entries) && gob::has_shape(dec.lookup(entries->elem), kEntryFields) &&
         gob::is_slice(dec.lookup(gob::field_type(*ring, 4)), gob::builtin::kUint);
}

bool read_nicknames(ByteReader& r, FastCtx& c, std::map<PeerName, std::string>& out) {
  std::uint64_t n = 0;
  if (!gob::read_count(r, 2, n)) return false;
  for (std::uint64_t k = 0; k < n; ++k) {
    if (!c.node() || !c.node()) return false;  // key and value
    auto key = gob::get_uint(r);
    if (!key || *key > kMaxPeer) return false;
    auto len = gob::get_uint(r);
    if (!len || *len > r.remaining()) return false;
    auto b = *r.take(static_cast<std::size_t>(*len));
    PeerName p(*key);
    // Our own peers send keys in order: append at the end without a search.
    if (out.empty() || out.rbegin()->first < p) {
      out.emplace_hint(out.end(), p, std::string(b.begin(), b.end()));
    } else {
      out.insert_or_assign(p, std::string(b.begin(), b.end()));  // the last of duplicates wins
    }
  }
  return true;
}

/// A slice: its count, then `read_one(out)` per element, each one node.
template <class T, class ReadOne>
bool read_slice(ByteReader& r, FastCtx& c, std::vector<T>& out, ReadOne&& read_one) {
  std::uint64_t n = 0;
  if (!gob::read_count(r, 1, n)) return false;
  out.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t k = 0; k < n; ++k) {
    if (!c.node() || !read_one(out)) return false;
  }
  return true;
}

bool read_entries(ByteReader& r, FastCtx& c, std::vector<RingEntry>& out) {
  return read_slice(r, c, out, [&](std::vector<RingEntry>& es) {
    RingEntry e;
    bool ok = gob::scan_struct(r, kEntryFields, c.nodes, c.max_nodes, [&](std::size_t f, const FieldValue& v) {
      if (v.u > (f == 1 ? kMaxPeer : kMaxU32)) return false;
      switch (f) {
        case 0: e.token = Ipv4(static_cast<std::uint32_t>(v.u)); break;
        case 1: e.peer = PeerName(v.u); break;
        case 2: e.version = static_cast<std::uint32_t>(v.u); break;
        default: e.free = static_cast<std::uint32_t>(v.u); break;
      }
      return true;
    });
    if (ok) es.push_back(e);
    return ok;
  });
}

bool read_peers(ByteReader& r, FastCtx& c, std::vector<PeerName>& out) {
  return read_slice(r, c, out, [&](std::vector<PeerName>& ps) {
    auto u = gob::get_uint(r);
    if (!u || *u > kMaxPeer) return false;
    ps.emplace_back(*u);
    return true;
  });
}

bool read_ring(ByteReader& r, FastCtx& c, WireRing& ring) {
  std::uint64_t start = 0, end = 0;
  bool ok = gob::scan_struct(r, kRingFields, c.nodes, c.max_nodes, [&](std::size_t f, const FieldValue& v) {
    switch (f) {
      case 0: start = v.u; return v.u <= kMaxU32;
      case 1: end = v.u; return v.u <= kMaxU32;
      case 2: ring.peer = PeerName(v.u); return v.u <= kMaxPeer;
      case 3: return read_entries(*v.r, c, ring.entries);
      default: return read_peers(*v.r, c, ring.seeds);
    }
  });
  ring.range = Ipv4Range(start, end);
  return ok;
}

}  // namespace

std::optional<GossipState> decode_gossip_state_fast(ByteSpan in) {
  gob::Decoder dec(in);
  auto pm = dec.next_raw();
  if (!pm.ok() || !*pm) return std::nullopt;
  auto& m = **pm;
  if (!has_state_shape(dec, m.type)) return std::nullopt;
  FastCtx c{1, dec.limits().max_nodes};
  GossipState s;
  bool ok = gob::scan_struct(m.body, kStateFields, c.nodes, c.max_nodes, [&](std::size_t f, const FieldValue& v) {
    switch (f) {
      case 0: s.now = v.i; return true;
      case 1: return read_nicknames(*v.r, c, s.nicknames);
      case 2: return false;  // paxos claims: the generic decoder's
      default: return read_ring(*v.r, c, s.ring.emplace());
    }
  });
  if (!ok || !m.body.empty()) return std::nullopt;
  return s;
}

Result<GossipState> decode_gossip_state(ByteSpan in) {
  if (auto fast = decode_gossip_state_fast(in)) return std::move(*fast);
  return decode_gossip_state_generic(in);
}

Result<Ipv4Range> decode_range(ByteSpan in) {
  WEFT_TRY(v, first_value(in));
  return range_from(v, "Range");
}

Result<WireRing> decode_ring(ByteSpan in) {
  WEFT_TRY(v, first_value(in));
  if (v.kind != Kind::Struct)
    return make_error("ipam: ring is {}, want struct", gob::kind_name(v.kind));
  return ring_from(v);
}

Result<OwnedMap> decode_owned(ByteSpan in) {
  WEFT_TRY(v, first_value(in));
  if (v.kind != Kind::Map)
    return make_error("ipam: ownedAddresses is {}, want map", gob::kind_name(v.kind));
  OwnedMap m;
  for (auto& [k, d] : v.entries) {
    if (k.kind != Kind::String || d.kind != Kind::Struct)
      return make_error("ipam: bad ownedAddresses entry");
    OwnedData od;
    WEFT_TRY(is_c, d.get_bool("IsContainer"));
    od.is_container = is_c;
    WEFT_TRY(cs, sub(d, "Cidrs", Kind::Slice));
    if (cs) {
      for (auto& c : cs->elems) {
        if (c.kind != Kind::Struct) return make_error("ipam: CIDR is {}", gob::kind_name(c.kind));
        WEFT_TRY(addr, get_u32(c, "Addr"));
        WEFT_TRY(plen, c.get_int("PrefixLen"));
        if (plen < 0 || plen > 32)
          return make_error("ipam: CIDR prefix length {} out of range", plen);
        od.cidrs.emplace_back(Ipv4(addr), static_cast<std::uint8_t>(plen));
      }
    }
    m[k.s] = std::move(od);
  }
  return m;
}

Result<PeerName> decode_peer_name(ByteSpan in) {
  WEFT_TRY(v, first_value(in));
  if (v.kind != Kind::Uint)
    return make_error("ipam: peername is {}, want uint", gob::kind_name(v.kind));
  return peer_of(v.u, "peername");
}

Result<UnicastMessage> decode_unicast(ByteSpan in) {
  if (in.empty()) return make_error("ipam: empty unicast message");
  UnicastMessage m;
  auto body = in.subspan(1);
  switch (in[0]) {
    case 0:
    case 2: {
      m.type = in[0] == 0 ? UnicastType::space_request : UnicastType::space_request_denied;
      WEFT_TRY(r, decode_range(body));
      m.range = r;
      return m;
    }
    case 1: {
      m.type = UnicastType::ring_update;
      WEFT_TRY(s, decode_gossip_state(body));
      m.state = std::move(s);
      return m;
    }
    default:
      return make_error("ipam: unknown unicast message type {}", in[0]);
  }
}

}  // namespace weft::ipam
