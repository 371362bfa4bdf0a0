#include "weft/http/router.hpp"

#include <cctype>
#include <stdexcept>

#include "weft/http/url.hpp"

namespace weft::http {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}


}  // namespace

Route::Route(std::string method, std::vector<Segment> segments, Handler handler)
    : method_(std::move(method)), segments_(std::move(segments)), handler_(std::move(handler)) {}

Route& Route::header(std::string name, std::string value) {
  headers_.emplace_back(lower(std::move(name)), std::move(value));
  return *this;
}

Route& Route::query(std::string key) {
  queries_.push_back(std::move(key));
  return *this;
}

bool Route::match_path(const std::vector<std::string_view>& path, PathVars& vars) const {
  bool has_rest = !segments_.empty() && segments_.back().kind == Segment::Kind::rest;
  std::size_t fixed = has_rest ? segments_.size() - 1 : segments_.size();
  if (has_rest ? path.size() < segments_.size() : path.size() != segments_.size()) {
    return false;
  }
  for (std::size_t i = 0; i < fixed; ++i) {
    const auto& seg = segments_[i];
    if (seg.kind == Segment::Kind::literal) {
      if (path[i] != seg.text) return false;
    } else {
      if (path[i].empty()) return false;
      vars[seg.text] = std::string(path[i]);
    }
  }
  if (has_rest) {
    std::string rest;
    for (std::size_t i = fixed; i < path.size(); ++i) {
      if (i > fixed) rest.push_back('/');
      rest.append(path[i]);
    }
    vars[segments_.back().text] = std::move(rest);
  }
  return true;
}

bool Route::match_extras(const HttpRequest& req) const {
  for (const auto& [name, value] : headers_) {
    auto it = req.headers.find(name);
    if (it == req.headers.end() || (!value.empty() && it->second != value)) return false;
  }
  for (const auto& key : queries_) {
    if (req.query.find(key) == req.query.end()) return false;
  }
  return true;
}

Route& Router::handle(std::string method, std::string_view pattern, Handler handler) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  if (!handler) {
    throw std::invalid_argument("route has no handler: " + std::string(pattern));
  }
  std::vector<Route::Segment> segs;
  auto parts = split_path(pattern);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view s = parts[i];
    bool braced = s.size() >= 2 && s.front() == '{' && s.back() == '}';
    if (!braced) {
      if (s.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("route variable must be a whole segment: " + std::string(pattern));
      }
      segs.push_back({Route::Segment::Kind::literal, std::string(s)});
      continue;
    }
    std::string_view name = s.substr(1, s.size() - 2);
    auto kind = Route::Segment::Kind::var;
    if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
      if (i + 1 != parts.size()) {
        throw std::invalid_argument("{name...} must be the last segment: " + std::string(pattern));
      }
      name.remove_suffix(3);
      kind = Route::Segment::Kind::rest;
    }
    if (name.empty() || name.find_first_of("{}:.") != std::string_view::npos) {
      throw std::invalid_argument("bad route variable (no regexes): " + std::string(pattern));
    }
    segs.push_back({kind, std::string(name)});
  }
  // gorilla upper-cases route methods; request methods stay case-sensitive ("get" matches nothing).
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return routes_.emplace_back(Route(std::move(method), std::move(segs), std::move(handler)));
}

HttpResponse Router::dispatch(const HttpRequest& req) const {
  if (req.method != "CONNECT") {
    auto clean = clean_path(req.path);
    if (clean != req.path) {
      HttpResponse res = empty_response(301);
      std::string location = path_escape(clean);
      if (!req.raw_query.empty()) {
        location += "?" + req.raw_query;
      }
      res.extra_headers.emplace_back("Location", std::move(location));
      return res;
    }
  }
  if (req.path.empty() || req.path.front() != '/') {
    return text_response(404, "404 page not found\n");
  }
  auto path = split_path(req.path);
  bool method_mismatch = false;
  for (const auto& route : routes_) {
    PathVars vars;
    if (!route.match_path(path, vars) || !route.match_extras(req)) {
      continue;
    }
    if (!route.method_.empty() && route.method_ != req.method) {
      method_mismatch = true;
      continue;
    }
    // Container IDs, names and addresses in the path never contain NUL (%00): a value with one
    // would be cut short by C APIs and forge log lines (issue 18, item 7).
    for (const auto& [k, v] : vars) {
      if (v.find('\0') != std::string::npos) return text_response(400, "invalid " + k + ": contains a NUL byte\n");
    }
    return route.handler_(req, vars);
  }
  if (method_mismatch) {
    return empty_response(405);
  }
  HttpResponse res = text_response(404, "404 page not found\n");
  res.extra_headers.emplace_back("X-Content-Type-Options", "nosniff");
  return res;
}

}  // namespace weft::http
