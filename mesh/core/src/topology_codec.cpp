#include "weft/mesh/topology_codec.hpp"

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

Result<std::vector<PeerSummary>> decode_peer_updates(ByteSpan b) {
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

}  // namespace weft::mesh
