#include "weft/mesh/gossip_codec.hpp"

#include "weft/mesh/gob.hpp"

namespace weft::mesh {

Bytes encode_gossip_envelope(const GossipEnvelope& e, bool unicast) {
  Bytes out;
  gob::Encoder enc(out);
  (void)enc.encode(gob::string_type(), gob::Value::of_string(e.channel));
  (void)enc.encode(gob::uint_type(), gob::Value::of_uint(e.src.value()));
  if (unicast) (void)enc.encode(gob::uint_type(), gob::Value::of_uint(e.dst.value()));
  (void)enc.encode(gob::bytes_type(), gob::Value::of_bytes(e.payload));
  return out;
}

Result<GossipEnvelope> decode_gossip_envelope(ByteSpan b, bool unicast) {
  gob::Decoder dec(b);
  auto next = [&](gob::Kind want, const char* what) -> Result<gob::Value> {
    WEFT_TRY(v, dec.next());
    if (!v || v->kind != want) return make_error("gossip envelope: missing or bad {}", what);
    return std::move(*v);
  };
  GossipEnvelope e;
  WEFT_TRY(channel, next(gob::Kind::String, "channel"));
  e.channel = std::move(channel.s);
  WEFT_TRY(src, next(gob::Kind::Uint, "source"));
  e.src = PeerName(src.u);
  if (unicast) {
    WEFT_TRY(dst, next(gob::Kind::Uint, "destination"));
    e.dst = PeerName(dst.u);
  }
  WEFT_TRY(payload, next(gob::Kind::Bytes, "payload"));
  e.payload = payload.bytes();
  return e;
}

}  // namespace weft::mesh
