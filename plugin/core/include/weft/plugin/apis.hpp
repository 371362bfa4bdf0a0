#pragma once
// The three small interfaces the plugin's pure Driver needs from the outside world (spec §9).
// Production implementations live in plugin/net (HTTP to the router and to Docker, netlink);
// tests use in-memory fakes (tests/plugin/fakes.hpp).
//
// Threading: the Driver calls these from the one thread that serves the plugin sockets. The calls
// may block (an IPAM allocation waits for the ring), so that thread must never be the io_context
// thread of weaver's own HTTP API.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "weft/base/ipv4.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/result.hpp"

namespace weft::plugin {

/// The router's IPAM, through its HTTP API (spec §10 `/ip` rows). Error messages are shown to
/// Docker as they are (e.g. `400 Bad Request: Unable to claim: ...`).
class RouterApi {
 public:
  virtual ~RouterApi() = default;
  /// PUT /ip/<ident>/<ip>/<len> (no check-alive): claims ADDR's address with ADDR's prefix.
  virtual Result<void> claim(std::string_view ident, const Cidr& addr) = 0;
  /// POST /ip/<ident>/<net>/<len>, or POST /ip/<ident> (the default subnet) for nullopt.
  /// Returns the address with the prefix the router answered.
  virtual Result<Cidr> allocate(std::string_view ident, const std::optional<Cidr>& subnet) = 0;
  /// DELETE /ip/<addr>: IPAM files `_` claims and allocations under the address string.
  virtual Result<void> release(Ipv4 addr) = 0;
  /// GET /ipinfo/defaultsubnet.
  virtual Result<Cidr> default_subnet() = 0;
};

/// What Docker says about a network (GET /networks/<id>).
struct DockerNetwork {
  std::string driver;                          ///< "Driver"
  std::map<std::string, std::string> options;  ///< "Options" (the generic options, flattened)
  bool operator==(const DockerNetwork&) const = default;
};

/// The Docker API, only needed for networks created before this process started.
class DockerApi {
 public:
  virtual ~DockerApi() = default;
  /// GET /networks/<id> (API 1.21). Errors read like Go's docker client (`No such network: x`).
  virtual Result<DockerNetwork> inspect_network(std::string_view id) = 0;
};

/// The two ends of an endpoint's veth: `vethwl<id>` on the host bridge, `vethwg<id>` for Docker to
/// move into the container.
struct VethPair {
  std::string host;
  std::string guest;
  bool operator==(const VethPair&) const = default;
};

/// Host link plumbing for endpoints.
class Links {
 public:
  virtual ~Links() = default;
  /// Creates the pair (replacing leftovers of the same names), MTU from the weave bridge; the host
  /// end becomes an up port of the bridge with accept_ra=0, the guest end stays down with TX
  /// offloads off (weft's datapath is userspace). Returns the guest end's MAC.
  virtual Result<Mac> create_veth(const VethPair& names) = 0;
  /// Deletes link NAME (and with it its veth peer). false: there was no such link.
  virtual Result<bool> delete_link(std::string_view name) = 0;
};

}  // namespace weft::plugin
