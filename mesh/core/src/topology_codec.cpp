#include "weft/mesh/topology_codec.hpp"

#include "weft/mesh/gob_scan.hpp"

#include <optional>
#include <span>
#include <string_view>

namespace weft::mesh {

const TopologyTypes& TopologyTypes::get() {
  static const TopologyTypes t = [] {
    TopologyTypes x;
    x.peer_summary = gob::struct_type("peerSummary", {{"NameByte", gob::bytes_type()},
                                                      {"NickName", gob::string_type()},
                                                      {"UID", gob::uint_type()},
                                                      {"Version", gob::uint_type()},
                                                      {"ShortID", gob::uint_type()},
                                                      {"HasShortID", gob::bool_type()}});
    x.connection_summary = gob::struct_type("connectionSummary", {{"NameByte", gob::bytes_type()},
                                                                  {"RemoteTCPAddr", gob::string_type()},
                                                                  {"Outbound", gob::bool_type()},
                                                                  {"Established", gob::bool_type()}});
    x.connections = gob::slice_type("", x.connection_summary);
    return x;
  }();
  return t;
}

Result<void> encode_peer_updates(gob::Encoder& enc, const std::vector<PeerSummary>& peers) {
  auto& t = TopologyTypes::get();
  for (auto& p : peers) {
    auto ps = gob::Value::structure();
    ps.set("NameByte", gob::Value::of_bytes(p.name.to_bytes()))
        .set("NickName", gob::Value::of_string(p.nickname))
        .set("UID", gob::Value::of_uint(p.uid))
        .set("Version", gob::Value::of_uint(p.version))
        .set("ShortID", gob::Value::of_uint(p.short_id))
        .set("HasShortID", gob::Value::of_bool(p.has_short_id));
    WEFT_TRY_VOID(enc.encode(t.peer_summary, ps));
    auto conns = gob::Value::slice();
    for (auto& c : p.connections) {
      auto cv = gob::Value::structure();
      cv.set("NameByte", gob::Value::of_bytes(c.name.to_bytes()))
          .set("RemoteTCPAddr", gob::Value::of_string(c.remote_tcp_addr))
          .set("Outbound", gob::Value::of_bool(c.outbound))
          .set("Established", gob::Value::of_bool(c.established));
      conns.elems.push_back(std::move(cv));
    }
    WEFT_TRY_VOID(enc.encode(t.connections, conns));
  }
  return {};
}

Bytes encode_peer_updates(const std::vector<PeerSummary>& peers) {
  Bytes out;
  gob::Encoder enc(out);
  (void)encode_peer_updates(enc, peers);  // NB: values are built to match the types
  return out;
}

namespace {
Result<PeerName> name_field(const gob::Value& v) {
  WEFT_TRY(b, v.get_bytes("NameByte"));
  auto n = PeerName::from_bytes(b);
  if (!n) return make_error("topology: peer name is {} bytes, want 6", b.size());
  return *n;
}
}  // namespace

Result<std::vector<PeerSummary>> decode_peer_updates_generic(ByteSpan b) {
  gob::Decoder dec(b);
  std::vector<PeerSummary> out;
  for (;;) {
    WEFT_TRY(pv, dec.next());
    if (!pv) return out;
    if (pv->kind != gob::Kind::Struct) return make_error("topology: expected peerSummary");
    PeerSummary p;
    WEFT_TRY(name, name_field(*pv));
    p.name = name;
    WEFT_TRY(nick, pv->get_string("NickName"));
    WEFT_TRY(uid, pv->get_uint("UID"));
    WEFT_TRY(version, pv->get_uint("Version"));
    WEFT_TRY(sid, pv->get_uint("ShortID"));
    WEFT_TRY(has_sid, pv->get_bool("HasShortID"));
    if (sid > 0xFFFF) return make_error("topology: ShortID {} overflows uint16", sid);
    p.nickname = std::move(nick);
    p.uid = uid;
    p.version = version;
    p.short_id = static_cast<std::uint16_t>(sid);
    p.has_short_id = has_sid;
    WEFT_TRY(cv, dec.next());
    if (!cv || cv->kind != gob::Kind::Slice) return make_error("topology: peerSummary without connections");
    for (auto& e : cv->elems) {
      if (e.kind != gob::Kind::Struct) return make_error("topology: bad connectionSummary");
      ConnectionSummary c;
      WEFT_TRY(cname, name_field(e));
      c.name = cname;
      WEFT_TRY(addr, e.get_string("RemoteTCPAddr"));
      WEFT_TRY(outbound, e.get_bool("Outbound"));
      WEFT_TRY(established, e.get_bool("Established"));
      c.remote_tcp_addr = std::move(addr);
      c.outbound = outbound;
      c.established = established;
      p.connections.push_back(std::move(c));
    }
    out.push_back(std::move(p));
  }
}

namespace {

// The fast path (issue 19: at 1,000 peers the generic decoder's Value trees were 30% of the
// simulation's time). It decodes straight into PeerSummary when the stream's definitions have
// exactly the shape Weave and weft send (the field names, order and basic types above), and
// gives up (nullopt) on anything else: another shape, or any input the generic decoder would
// refuse. The caller then runs the generic decoder, so what is accepted, what it decodes to and
// every error are the generic decoder's.
using gob::FieldSpec;
using gob::FieldValue;
using gob::has_shape;
using gob::scan_struct;

constexpr FieldSpec kPeerFields[] = {{"NameByte", gob::builtin::kBytes}, {"NickName", gob::builtin::kString},
                                     {"UID", gob::builtin::kUint},       {"Version", gob::builtin::kUint},
                                     {"ShortID", gob::builtin::kUint},   {"HasShortID", gob::builtin::kBool}};
constexpr FieldSpec kConnFields[] = {{"NameByte", gob::builtin::kBytes},
                                     {"RemoteTCPAddr", gob::builtin::kString},
                                     {"Outbound", gob::builtin::kBool},
                                     {"Established", gob::builtin::kBool}};

/// A NameByte field: false (the generic decoder's error) unless it is 6 bytes.
bool read_name(ByteSpan b, PeerName& name, bool& named) {
  auto n = PeerName::from_bytes(b);
  if (!n) return false;
  name = *n;
  named = true;
  return true;
}

}  // namespace

std::optional<std::vector<PeerSummary>> decode_peer_updates_fast(ByteSpan b) {
  gob::Decoder dec(b);
  const auto max_nodes = dec.limits().max_nodes;
  std::vector<PeerSummary> out;
  for (;;) {
    auto pm = dec.next_raw();
    if (!pm.ok()) return std::nullopt;
    if (!*pm) return out;
    auto& m = **pm;
    if (!has_shape(m.type, kPeerFields)) return std::nullopt;
    PeerSummary p;
    bool named = false;
    std::size_t nodes = 1;  // the struct itself
    bool ok = scan_struct(m.body, kPeerFields, nodes, max_nodes, [&](std::size_t f, const FieldValue& v) {
      switch (f) {
        case 0: return read_name(v.b, p.name, named);
        case 1: p.nickname.assign(v.b.begin(), v.b.end()); return true;
        case 2: p.uid = v.u; return true;
        case 3: p.version = v.u; return true;
        case 4:
          if (v.u > 0xFFFF) return false;
          p.short_id = static_cast<std::uint16_t>(v.u);
          return true;
        default: p.has_short_id = v.u != 0; return true;
      }
    });
    if (!ok || !named || !m.body.empty()) return std::nullopt;

    auto cm = dec.next_raw();
    if (!cm.ok() || !*cm) return std::nullopt;
    auto& c = **cm;
    if (!gob::is_slice(c.type) || !has_shape(dec.lookup(c.type->elem), kConnFields)) {
      return std::nullopt;
    }
    auto count = gob::get_uint(c.body);
    if (!count || *count > c.body.remaining()) return std::nullopt;
    nodes = 1;  // the slice
    p.connections.reserve(static_cast<std::size_t>(*count));
    for (std::uint64_t k = 0; k < *count; ++k) {
      if (++nodes > max_nodes) return std::nullopt;
      ConnectionSummary cs;
      bool cnamed = false;
      bool cok = scan_struct(c.body, kConnFields, nodes, max_nodes, [&](std::size_t f, const FieldValue& v) {
        switch (f) {
          case 0: return read_name(v.b, cs.name, cnamed);
          case 1: cs.remote_tcp_addr.assign(v.b.begin(), v.b.end()); return true;
          case 2: cs.outbound = v.u != 0; return true;
          default: cs.established = v.u != 0; return true;
        }
      });
      if (!cok || !cnamed) return std::nullopt;
      p.connections.push_back(std::move(cs));
    }
    if (!c.body.empty()) return std::nullopt;
    out.push_back(std::move(p));
  }
}

Result<std::vector<PeerSummary>> decode_peer_updates(ByteSpan b) {
  if (auto fast = decode_peer_updates_fast(b)) return std::move(*fast);
  return decode_peer_updates_generic(b);
}

}  // namespace weft::mesh
