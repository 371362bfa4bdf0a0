#include "weft/dns/gossip_data.hpp"

#include "weft/mesh/gob.hpp"

namespace weft::dns {
namespace {

struct Types {
  gob::TypePtr entry;
  gob::TypePtr gossip;
};

const Types& types() {
  static const Types t = [] {
    Types out;
    out.entry = gob::struct_type("Entry", {{"ContainerID", gob::string_type()},
                                           {"Origin", gob::uint_type()},
                                           {"Addr", gob::uint_type()},
                                           {"Hostname", gob::string_type()},
                                           {"Version", gob::int_type()},
                                           {"Tombstone", gob::int_type()}});
    out.gossip = gob::struct_type("GossipData",
                                  {{"Timestamp", gob::int_type()}, {"Entries", gob::slice_type("Entries", out.entry)}});
    return out;
  }();
  return t;
}

Result<Entry> entry_from(const gob::Value& v) {
  if (v.kind != gob::Kind::Struct)
    return make_error("nameserver gossip: entry is a {}, not a struct", gob::kind_name(v.kind));
  Entry e;
  WEFT_TRY(cid, v.get_string("ContainerID"));
  WEFT_TRY(origin, v.get_uint("Origin"));
  WEFT_TRY(addr, v.get_uint("Addr"));
  WEFT_TRY(host, v.get_string("Hostname"));
  WEFT_TRY(version, v.get_int("Version"));
  WEFT_TRY(tomb, v.get_int("Tombstone"));
  if (addr > 0xFFFF'FFFFu) return make_error("nameserver gossip: address {} overflows 32 bits", addr);
  if (origin > 0xFFFF'FFFF'FFFFu) return make_error("nameserver gossip: origin {} overflows 48 bits", origin);
  e.container_id = std::move(cid);
  e.origin = PeerName(origin);
  e.addr = Ipv4(static_cast<std::uint32_t>(addr));
  e.hostname = std::move(host);
  e.version = version;
  e.tombstone = tomb;
  return e;
}

}  // namespace

Bytes encode_gossip_data(GossipData g, std::vector<int> type_ids) {
  normalize(g.entries);
  auto& t = types();
  std::vector<gob::Value> elems;
  elems.reserve(g.entries.size());
  for (auto& e : g.entries) {
    auto v = gob::Value::structure();
    v.set("ContainerID", gob::Value::of_string(e.container_id))
        .set("Origin", gob::Value::of_uint(e.origin.value()))
        .set("Addr", gob::Value::of_uint(e.addr.value()))
        .set("Hostname", gob::Value::of_string(e.hostname))
        .set("Version", gob::Value::of_int(e.version))
        .set("Tombstone", gob::Value::of_int(e.tombstone));
    elems.push_back(std::move(v));
  }
  auto v = gob::Value::structure();
  v.set("Timestamp", gob::Value::of_int(g.timestamp)).set("Entries", gob::Value::slice(std::move(elems)));
  Bytes out;
  gob::Encoder enc(out);
  if (!type_ids.empty()) enc.assign_ids(std::move(type_ids));
  auto r = enc.encode(t.gossip, v);
  // NB: the value is built from the Type above, so encoding cannot fail; an empty result would
  // only mean a programming error in that pairing.
  if (!r.ok()) return {};
  return out;
}

Result<GossipData> decode_gossip_data(ByteSpan payload) {
  gob::Decoder dec(payload);
  auto next = dec.next();
  if (!next.ok()) return make_error("nameserver gossip: {}", next.error().message);
  if (!next->has_value()) return make_error("nameserver gossip: empty message");
  const gob::Value& v = **next;
  if (v.kind != gob::Kind::Struct)
    return make_error("nameserver gossip: top-level {} is not GossipData", gob::kind_name(v.kind));
  GossipData g;
  WEFT_TRY(ts, v.get_int("Timestamp"));
  g.timestamp = ts;
  if (const auto* es = v.field("Entries")) {
    if (es->kind != gob::Kind::Slice)
      return make_error("nameserver gossip: Entries is a {}, not a slice", gob::kind_name(es->kind));
    g.entries.reserve(es->elems.size());
    for (const auto& ev : es->elems) {
      WEFT_TRY(e, entry_from(ev));
      g.entries.push_back(std::move(e));
    }
  }
  normalize(g.entries);
  return g;
}

}  // namespace weft::dns
