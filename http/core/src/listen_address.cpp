#include "weft/http/listen_address.hpp"

namespace weft::http {

Result<ListenAddress> ListenAddress::parse(std::string_view s) {
  ListenAddress a;
  if (!s.empty() && s.front() == '/') {
    a.kind = Kind::unix_socket;
    a.path = std::string(s);
    return a;
  }
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) {
      return make_error("address {}: missing ']' in address", s);
    }
    if (close + 1 == s.size()) {
      return make_error("address {}: missing port in address", s);
    }
    if (s[close + 1] != ':') {
      return make_error("address {}: missing port in address", s);
    }
    if (s.find(':', close + 2) != std::string_view::npos) {
      return make_error("address {}: too many colons in address", s);
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      return make_error("address {}: missing port in address", s);
    }
    host = s.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return make_error("address {}: too many colons in address", s);
    }
    port = s.substr(colon + 1);
  }
  if (host.find_first_of("[]") != std::string_view::npos) {
    return make_error("address {}: unexpected '[' or ']' in address", s);
  }
  // NB: Go would also look service names up ("http"); weave's addresses are always numeric.
  unsigned value = 0;
  if (port.empty() || port.size() > 5) {
    return make_error("address {}: invalid port", s);
  }
  for (char c : port) {
    if (c < '0' || c > '9') {
      return make_error("address {}: invalid port", s);
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) {
    return make_error("address {}: invalid port", s);
  }
  a.host = std::string(host);
  a.port = static_cast<std::uint16_t>(value);
  return a;
}

std::string ListenAddress::str() const {
  if (kind == Kind::unix_socket) {
    return path;
  }
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

std::string dial_address(std::string_view listen) {
  if (listen.starts_with("0.0.0.0:")) return "127.0.0.1" + std::string(listen.substr(7));
  if (listen.starts_with(":")) return "127.0.0.1" + std::string(listen);
  if (listen.starts_with("[::]:")) return "[::1]" + std::string(listen.substr(4));
  return std::string(listen);
}

}  // namespace weft::http
