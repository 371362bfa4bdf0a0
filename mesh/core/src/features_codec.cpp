#include "weft/mesh/features_codec.hpp"

#include "weft/mesh/gob.hpp"

namespace weft::mesh {

Bytes encode_features(const Features& f) {
  static const gob::TypePtr kType = gob::map_type("", gob::string_type(), gob::string_type());
  auto v = gob::Value::map();
  for (auto& [k, val] : f) v.add_entry(gob::Value::of_string(k), gob::Value::of_string(val));
  Bytes out;
  gob::Encoder enc(out);
  (void)enc.encode(kType, v);  // NB: cannot fail: value built to match the type
  return out;
}

Result<Features> decode_features(ByteSpan b) {
  WEFT_TRY(values, gob::decode_all(b));
  if (values.size() != 1 || values[0].kind != gob::Kind::Map) {
    return make_error("features: expected one map[string]string");
  }
  Features f;
  for (auto& [k, v] : values[0].entries) {
    if (k.kind != gob::Kind::String || v.kind != gob::Kind::String) {
      return make_error("features: map is not map[string]string");
    }
    f[k.s] = v.s;
  }
  return f;
}

}  // namespace weft::mesh
