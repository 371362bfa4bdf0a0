#include "weft/http/request.hpp"

#include <cctype>

#include "weft/http/url.hpp"

namespace weft::http {
namespace {

std::string first_of(const std::map<std::string, std::vector<std::string>>& m, std::string_view key) {
  auto it = m.find(std::string(key));
  if (it == m.end() || it->second.empty()) {
    return {};
  }
  return it->second.front();
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::string HttpRequest::form_value(std::string_view key) const { return first_of(form, key); }

std::string HttpRequest::query_value(std::string_view key) const { return first_of(query, key); }

std::string HttpRequest::header(std::string_view name) const {
  std::string key(name);
  for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(key);
  return it == headers.end() ? std::string{} : it->second;
}

Result<HttpRequest> make_request(std::string method, std::string_view target,
                                 std::map<std::string, std::string> headers, std::string body) {
  // Absolute form (RFC 9112 §3.2.2), which proxies send: drop scheme and authority.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (starts_with_ci(target, scheme)) {
      target.remove_prefix(scheme.size());
      auto slash = target.find_first_of("/?");
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      if (!target.empty() && target.front() == '?') {
        return make_error("malformed request target");
      }
      break;
    }
  }
  if (target.empty() || target.front() != '/') {
    return make_error("malformed request target");
  }
  std::string_view raw_path = target;
  std::string_view raw_query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    raw_path = target.substr(0, q);
    raw_query = target.substr(q + 1);
  }
  auto path = path_unescape(raw_path);
  if (!path) {
    return path.error();
  }
  HttpRequest req;
  req.method = std::move(method);
  req.path = std::move(*path);
  req.raw_query = std::string(raw_query);
  req.query = parse_query(raw_query).values;
  auto ct = headers.find("content-type");
  req.form = parse_form(req.method, ct == headers.end() ? std::string_view{} : std::string_view(ct->second),
                        body, raw_query)
                 .values;
  req.headers = std::move(headers);
  req.body = std::move(body);
  return req;
}

}  // namespace weft::http
