#pragma once
// weaver's command line: Weave 2.8's flag names (spec §0.1). Go-style: `--flag value`,
// `--flag=value`, `-flag`; bools take no value unless written `--flag=false`. Positional
// arguments are peers. Flags of capabilities weft has not built yet are accepted and reported by
// name, so a Weave command line never fails silently.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/result.hpp"

namespace weft::weaver {

struct Options {
  std::map<std::string, std::string> values;     ///< last value given, by flag name
  std::map<std::string, std::vector<std::string>> lists;  ///< repeatable flags (-H)
  std::vector<std::string> peers;
  std::vector<std::string> unsupported;  ///< flags given that weft does not implement yet

  std::string get(const std::string& name) const;  ///< value or the flag's default
  bool flag(const std::string& name) const;
  /// An integer flag's value (or default), parsed without throwing; errors name the flag.
  Result<std::int64_t> integer(const std::string& name) const;
  bool given(const std::string& name) const { return values.count(name) > 0; }
};

/// Parses argv[1..]. Errors read like Go's flag package ("flag provided but not defined: -x",
/// "invalid boolean value \"maybe\" for -no-discovery").
Result<Options> parse_flags(const std::vector<std::string>& args);
std::string usage();
/// Go's flag package's integer rule (decimal, optional sign): `invalid value "x" for flag -name:
/// parse error` on anything else, out-of-range values included. Never throws.
Result<std::int64_t> parse_int_flag(std::string_view name, std::string_view text);
/// The number in `text` (decimal, optional + or -), or nullopt (also when out of range).
std::optional<std::int64_t> parse_decimal(std::string_view text);

}  // namespace weft::weaver
