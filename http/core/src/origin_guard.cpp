#include "weft/http/origin_guard.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "weft/base/log_safe.hpp"

namespace weft::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// "host:port", "[v6]:port", "host" -> the host, without brackets.
std::string host_part(std::string_view hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    return close == std::string_view::npos ? std::string(hostport) : std::string(hostport.substr(1, close - 1));
  }
  auto colon = hostport.rfind(':');
  if (colon != std::string_view::npos && hostport.find(':') == colon) return std::string(hostport.substr(0, colon));
  return std::string(hostport);
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "localhost.") return true;
  in_addr a4{};
  if (::inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (::inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  }
  return false;
}

bool same_ip(const std::string& host, std::string_view local_ip) {
  if (local_ip.empty()) return false;
  std::string l(local_ip);
  if (l.starts_with("::ffff:")) l = l.substr(7);  // v4-mapped on a dual-stack listener
  in_addr a{}, b{};
  if (::inet_pton(AF_INET, host.c_str(), &a) == 1 && ::inet_pton(AF_INET, l.c_str(), &b) == 1) return a.s_addr == b.s_addr;
  in6_addr c{}, d{};
  if (::inet_pton(AF_INET6, host.c_str(), &c) == 1 && ::inet_pton(AF_INET6, l.c_str(), &d) == 1) {
    return std::equal(std::begin(c.s6_addr), std::end(c.s6_addr), std::begin(d.s6_addr));
  }
  return false;
}

}  // namespace

std::optional<std::string> browser_request_refusal(const HttpRequest& req, std::string_view local_ip) {
  if (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS") return std::nullopt;
  auto host_header = lower(req.header("host"));
  if (!host_header.empty()) {
    auto host = host_part(host_header);
    if (!is_loopback_host(host) && !same_ip(host, local_ip)) {
      return "refused: Host " + log_safe(host_header, 64) +
             " is not a loopback name or address (the control API does not answer requests made for other names)";
    }
  }
  if (auto origin = req.headers.find("origin"); origin != req.headers.end()) {
    auto o = lower(origin->second);
    if (o == "null" || host_header.empty() || (o != "http://" + host_header && o != "https://" + host_header)) {
      return "refused: cross-origin request from " + log_safe(origin->second, 64) +
             " (the control API does not answer web pages)";
    }
  }
  return std::nullopt;
}

}  // namespace weft::http
