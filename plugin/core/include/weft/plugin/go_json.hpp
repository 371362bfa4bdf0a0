#pragma once
// Go-compatible text helpers, so the plugin's answers are byte-identical to Weave's (Go's
// encoding/json, strconv and fmt). Pure functions; never throw.
#include <optional>
#include <string>
#include <string_view>

namespace weft::plugin {

/// A JSON string literal exactly as Go's json.Encoder writes it (HTML escaping on): `"`, `\`,
/// \n \r \t short escapes, other control bytes as \u00xx, `<` `>` `&` as \u003c \u003e \u0026,
/// U+2028/U+2029 escaped, and each byte of invalid UTF-8 as \ufffd.
std::string go_json_string(std::string_view s);

/// Go's fmt %q (strconv.Quote) for the texts the plugin quotes in error messages: printable ASCII
/// and valid UTF-8 kept, `"` and `\` escaped, \a \b \f \n \r \t \v, other bytes \xNN.
std::string go_quote(std::string_view s);

/// Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False; nullopt otherwise.
std::optional<bool> go_parse_bool(std::string_view s);

}  // namespace weft::plugin
