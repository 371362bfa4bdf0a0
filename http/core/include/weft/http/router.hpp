#pragma once
// Router: gorilla/mux-like request dispatch, so weaver's API answers exactly like weave's (spec §10).
//
//   Router r;
//   r.handle("GET", "/status", status_handler);
//   r.handle("GET", "/report", report_json).header("Accept", "application/json");
//   r.handle("GET", "/report", report_template).query("format");
//   r.handle("POST", "/ip/{id}/{net}/{len}", allocate);   // vars {"id","net","len"}
//   r.handle("GET", "/files/{rest...}", serve);            // rest = "a/b/c" for /files/a/b/c
//   HttpResponse res = r.dispatch(request);
//
// Matching (gorilla/mux 1.7 semantics):
//   * Routes are tried in registration order; the first whose path, headers, queries and method all
//     match handles the request.
//   * If none does, but some route matched everything except the method: 405 with an empty body.
//   * Otherwise 404 `404 page not found\n`.
//   * A request path that is not clean (`//a`, `/a/./b`, `/a/../b`) is answered 301 with Location set
//     to the clean path (and the query), before any matching.
// Patterns: '/'-separated segments, each literal or `{name}` (one non-empty segment, any bytes but
// '/'). The last segment may be `{name...}`, which matches the rest of the path (may be empty or
// contain '/'). `{name:regex}` is not supported. Paths are matched after percent-decoding.
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "weft/http/request.hpp"
#include "weft/http/response.hpp"

namespace weft::http {

/// Values of the `{name}` segments of the matched pattern.
using PathVars = std::map<std::string, std::string>;
/// Handles one request. Runs on the server's io_context thread, so it must not block for long.
using Handler = std::function<HttpResponse(const HttpRequest&, const PathVars& vars)>;

/// One registered route; returned by Router::handle so matchers can be chained.
class Route {
 public:
  /// Also require the header `name` (any case) to equal `value` exactly, or, with an empty value,
  /// merely to be present (gorilla's Headers matcher).
  Route& header(std::string name, std::string value);
  /// Also require the query parameter `key` to be present, with any value (gorilla's
  /// Queries("key", "{key}")).
  Route& query(std::string key);

 private:
  friend class Router;
  struct Segment {
    enum class Kind { literal, var, rest } kind;
    std::string text;  ///< the literal, or the variable's name
  };
  Route(std::string method, std::vector<Segment> segments, Handler handler);
  bool match_path(const std::vector<std::string_view>& path_segments, PathVars& vars) const;
  bool match_extras(const HttpRequest& req) const;

  std::string method_;
  std::vector<Segment> segments_;
  std::vector<std::pair<std::string, std::string>> headers_;  ///< lower-case name, value
  std::vector<std::string> queries_;
  Handler handler_;
};

class Router {
 public:
  /// Registers `handler` for `method` (upper-cased like gorilla's Methods, then compared exactly
  /// with the request's; "" = any method) on `pattern`.
  /// Throws std::invalid_argument for a malformed pattern: routes are built at startup (R8c).
  /// The returned reference stays valid as long as the Router (more routes may be added).
  Route& handle(std::string method, std::string_view pattern, Handler handler);
  /// Picks the route for `req` and runs its handler (or answers 301/404/405 as described above).
  /// Exceptions from handlers propagate; the server turns them into 500.
  HttpResponse dispatch(const HttpRequest& req) const;
  std::size_t size() const { return routes_.size(); }

 private:
  std::deque<Route> routes_;  // NB: a deque keeps Route& stable across handle() calls.
};

}  // namespace weft::http
