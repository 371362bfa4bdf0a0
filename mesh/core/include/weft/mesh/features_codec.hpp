#pragma once
// The handshake features map (spec §1.2, §1.5): a fresh gob stream holding one map[string]string.
#include <map>
#include <string>

#include "weft/base/bytes.hpp"
#include "weft/base/result.hpp"

namespace weft::mesh {

using Features = std::map<std::string, std::string>;

Bytes encode_features(const Features& f);
/// Exactly one map[string]string value; anything else is an error.
Result<Features> decode_features(ByteSpan b);

}  // namespace weft::mesh
