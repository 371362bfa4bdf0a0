#pragma once
// ListenAddress: the value of weaver's --http-addr / --status-addr / --metrics-addr (spec §10).
// A value starting with '/' is a unix socket path; anything else is Go's "host:port".
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/base/result.hpp"

namespace weft::http {

struct ListenAddress {
  enum class Kind { tcp, unix_socket };
  Kind kind = Kind::tcp;
  std::string host;        ///< tcp: "" (all interfaces), a literal IPv4/IPv6 address or a host name
  std::uint16_t port = 0;  ///< tcp: 0 = pick a free port
  std::string path;        ///< unix_socket: the socket file

  /// Parses like Go's net.SplitHostPort: "127.0.0.1:6784", ":6784", "[::1]:6784", "localhost:0";
  /// or "/run/weave.sock". Errors read like Go's, e.g. `address 127.0.0.1: missing port in address`,
  /// `address a:b:c: too many colons in address`, `address 1.2.3.4:http: invalid port`.
  static Result<ListenAddress> parse(std::string_view s);
  /// "127.0.0.1:6784", "[::1]:6784" or the path.
  std::string str() const;
  /// "tcp" or "unix", as in Go's error messages ("listen tcp 127.0.0.1:6784: ...").
  std::string_view network() const { return kind == Kind::tcp ? "tcp" : "unix"; }
  bool operator==(const ListenAddress&) const = default;
};

/// The address a client on this host dials to reach a server listening on `listen`: a wildcard
/// host ("0.0.0.0:P", ":P", "[::]:P") becomes loopback, as weave's script's dial_addr does;
/// anything else is returned as it is.
std::string dial_address(std::string_view listen);

}  // namespace weft::http
