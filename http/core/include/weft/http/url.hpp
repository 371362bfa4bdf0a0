#pragma once
// URL and form decoding with Go's net/url semantics (weave's API is read by Go's net/http, and
// scripts and plugins rely on exactly that behaviour). Pure functions: no I/O, never throw.
//
//   query_unescape  url.QueryUnescape   "%41+b" -> "A b"; "%zz" -> error `invalid URL escape "%zz"`
//   path_unescape   url.PathUnescape    "%41+b" -> "A+b" ('+' is literal in paths)
//   parse_query     url.ParseQuery      "a=1&a=2&b" -> {a:[1,2], b:[""]}
//   parse_form      Request.ParseForm   urlencoded body (POST/PUT/PATCH only) first, then query
//   clean_path      gorilla/mux cleanPath (path.Clean, keeps a trailing slash)
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/result.hpp"

namespace weft::http {

/// Multi-valued parameters in arrival order per key (Go's url.Values).
using Values = std::map<std::string, std::vector<std::string>>;

/// Values parsed so far plus the first error met. Like Go, a pair whose key or value has a bad
/// escape is skipped and parsing goes on, so `values` is usable even when `error` is set.
struct ParsedValues {
  Values values;
  std::optional<Error> error;
};

/// Go's url.QueryUnescape: `%XX` becomes the byte 0xXX and `+` becomes a space. A `%` not followed by
/// two hex digits gives the error `invalid URL escape "%zz"` (the offending text, up to 3 bytes).
Result<std::string> query_unescape(std::string_view s);

/// Go's url.PathUnescape: like query_unescape, but `+` stays `+`.
Result<std::string> path_unescape(std::string_view s);

/// Go's url.QueryEscape: unreserved bytes kept, space -> `+`, everything else `%XX` (upper case).
std::string query_escape(std::string_view s);

/// Go's url.PathEscape-like escaping of a whole path: keeps `/` and the bytes Go leaves alone in
/// paths, escapes the rest as `%XX`. Used to build Location headers.
std::string path_escape(std::string_view s);

/// Go's url.ParseQuery (as built into weave 2.8, Go 1.15): pairs are separated by `&` or `;`,
/// empty pairs are ignored, a pair without `=` has the value "", keys may repeat.
ParsedValues parse_query(std::string_view raw_query);

/// Go's http.Request.ParseForm. For POST, PUT and PATCH whose Content-Type media type is
/// `application/x-www-form-urlencoded` (parameters such as charset ignored, case-insensitive), the
/// body's pairs come first; the query's pairs are appended after them, so the body wins for a
/// first-value lookup (Go's FormValue). Other methods and content types use the query only.
ParsedValues parse_form(std::string_view method, std::string_view content_type, std::string_view body,
                        std::string_view raw_query);

/// gorilla/mux cleanPath: "" -> "/", a leading `/` is added, `.`/`..`/`//` are resolved like Go's
/// path.Clean, and a trailing `/` is kept (except for the root). The router redirects (301) when
/// the cleaned path differs from the request's.
std::string clean_path(std::string_view p);

/// "/a/b" -> {"a","b"}; "/" -> {""}; "/a/" -> {"a",""}; anything not starting with '/' -> {}.
/// The views point into `p`.
std::vector<std::string_view> split_path(std::string_view p);

}  // namespace weft::http
