#pragma once
// Loads tests/fixtures/weave-wire-vectors.txt: named hexdump sections ("== name (N bytes)" or a
// "title:" line followed by hexdump rows) and "key=value" lines.
#include <map>
#include <string>
#include <string_view>

#include "weft/base/bytes.hpp"

namespace weft::test {

class Vectors {
 public:
  /// Loads the fixture file (path baked in at build time); aborts the test binary if missing.
  static const Vectors& get();
  /// The bytes of a section; the name is matched exactly, or as a prefix when unique.
  const Bytes& section(std::string_view name) const;
  const std::string& value(std::string_view key) const;
  Bytes hex_value(std::string_view key) const;
  const std::map<std::string, Bytes>& sections() const { return sections_; }

 private:
  std::map<std::string, Bytes> sections_;
  std::map<std::string, std::string> values_;
};

}  // namespace weft::test
