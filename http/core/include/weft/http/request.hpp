#pragma once
// HttpRequest: one parsed HTTP request as handlers see it. Plain value type, no Beast.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/result.hpp"

namespace weft::http {

struct HttpRequest {
  std::string method;     ///< as sent, e.g. "GET" (methods are case-sensitive in HTTP)
  std::string path;       ///< percent-decoded path, e.g. "/name/c1/10.32.0.1" (Go's URL.Path)
  std::string raw_query;  ///< the text after '?', still encoded ("" if none)
  std::map<std::string, std::vector<std::string>> query;  ///< parse_query(raw_query)
  /// Query plus an application/x-www-form-urlencoded body for POST/PUT/PATCH only, body values
  /// first (Go's Request.Form; see parse_form). DELETE parameters must be in the query.
  std::map<std::string, std::vector<std::string>> form;
  std::map<std::string, std::string> headers;  ///< lower-case names; first value of a repeated field
  std::string body;

  /// Go's FormValue: the first value of `key` in `form`, or "" when absent.
  std::string form_value(std::string_view key) const;
  /// The first value of `key` in the query only, or "" when absent.
  std::string query_value(std::string_view key) const;
  /// The header `name` (any case), or "" when absent.
  std::string header(std::string_view name) const;
  bool operator==(const HttpRequest&) const = default;
};

/// Builds a request from the pieces of an HTTP message, the way Go's server does: `target` is the
/// request-target in origin form (`/path?query`) or absolute form (`http://host/path?query`); the
/// path is percent-decoded ('+' stays '+'), the query and form are parsed (bad pairs are skipped,
/// as Go does). `headers` must already have lower-case names.
/// Errors (the server answers 400): a target that is not a path, or a bad escape in the path.
Result<HttpRequest> make_request(std::string method, std::string_view target,
                                 std::map<std::string, std::string> headers, std::string body);

}  // namespace weft::http
