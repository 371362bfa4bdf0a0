#pragma once
// Driver: Weave's Docker network plugin (CNM remote network driver + IPAM driver, spec §9) as a
// pure request handler: (route path, request body) -> (status, response body). It opens no
// sockets and touches no links itself; the router API, Docker and the host's links come in
// through the small interfaces of apis.hpp. plugin/net serves it on the unix sockets.
//
// Answers are byte-identical to Weave 2.8's Go plugin (plugin/skel + plugin/net + plugin/ipam):
//   * success: the libnetwork response struct with every field (no omitempty), as Go's
//     json.Encoder writes it, so with a trailing '\n';
//   * driver or IPAM failure: 500 `{"Err":"<message>"}\n` (the key is `Err` for IPAM too);
//   * undecodable body: 400 plain text from http.Error (message + '\n'), wording per route;
//   * a route that is not registered: 404 `404 page not found\n`.
// Deliberate deviations from Weave (issue tracker): `.Join` answers "DisableGatewayService":true
// unless the network's options ask for a gateway (works.weave.gateway, Go ParseBool true), so
// Docker does not create docker_gwbridge; `.Leave` deletes the endpoint's veths as
// `.DeleteEndpoint` does, so no veth outlives its container.
//
// Threading: not thread-safe. One thread (the plugin's socket thread) calls handle(); it may
// block in RouterApi/DockerApi calls.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/logger.hpp"
#include "weft/base/result.hpp"
#include "weft/plugin/apis.hpp"

namespace weft::plugin {

/// Network option turning the multicast route (224.0.0.0/4) in containers on; "" means on.
inline constexpr std::string_view kMulticastOption = "works.weave.multicast";
/// weft extension: let Docker give the container a default gateway (docker_gwbridge); "" means on.
inline constexpr std::string_view kGatewayOption = "works.weave.gateway";
/// Prefixes of an endpoint's veth names (Weave's vethPair()).
inline constexpr std::string_view kHostVethPrefix = "vethwl";
inline constexpr std::string_view kGuestVethPrefix = "vethwg";
/// Characters of the endpoint ID used in veth names: IFNAMSIZ 16 - "vethwl" - NUL.
inline constexpr std::size_t kVethIdChars = 9;
/// What earlier Weave plugins used (DeleteEndpoint still tries it).
inline constexpr std::size_t kLegacyVethIdChars = 5;

/// Which socket a Driver serves.
struct DriverConfig {
  std::string name = "weavemesh";  ///< the socket's basename without ".sock": "weave" or "weavemesh"
  std::string scope = "local";     ///< GetCapabilities "Scope"
  bool ipam = true;                ///< also the IpamDriver (weavemesh.sock)

  /// weave.sock: NetworkDriver only, scope global.
  static DriverConfig plugin(std::string name = "weave") { return {std::move(name), "global", false}; }
  /// weavemesh.sock: NetworkDriver + IpamDriver, scope local.
  static DriverConfig mesh(std::string name = "weavemesh") { return {std::move(name), "local", true}; }
};

/// What the driver remembers about a network (Weave's `network`).
struct NetworkInfo {
  bool ours = false;       ///< its Docker driver is this driver (options are read only then)
  bool multicast = false;  ///< Join adds the 224.0.0.0/4 route
  bool gateway = false;    ///< Join lets Docker provide a gateway (weft extension)
  bool operator==(const NetworkInfo&) const = default;
};

/// Reads the network options the way Weave's setupNetworkInfo does: for our networks,
/// works.weave.multicast and works.weave.gateway are "" (on) or a Go bool; anything else gives
/// `unrecognized value "<v>" for option <key>`. Other keys are logged and ignored. Keys are
/// visited in sorted order, so with two bad values the error is deterministic.
Result<NetworkInfo> parse_network_options(bool ours, const std::map<std::string, std::string>& options,
                                          const Logger& log);

/// vethwl<id[:9]> / vethwg<id[:9]>. Errors for an empty ID or one with characters that cannot be
/// in an interface name.
Result<VethPair> veth_pair_for(std::string_view endpoint_id);

/// One answer: the status and Go's exact body bytes. Bodies are sent as text/plain (Go sets no
/// Content-Type, so net/http sniffs that); 400s also carry X-Content-Type-Options: nosniff.
struct PluginReply {
  int status = 200;
  std::string body;
  bool operator==(const PluginReply&) const = default;
};

class Driver {
 public:
  /// DOCKER may be null (no Docker API): networks not seen since start then cannot be looked up.
  /// The referenced objects must outlive the Driver.
  Driver(DriverConfig cfg, RouterApi& router, DockerApi* docker, Links& links, Logger log);

  /// The POST routes this driver serves, e.g. "/Plugin.Activate", "/NetworkDriver.Join",
  /// "/IpamDriver.RequestPool" (only with cfg.ipam). Anything else is a 404.
  std::vector<std::string> routes() const;

  /// Handles `POST <path>` with BODY. Never throws; any input gives a well-formed answer.
  PluginReply handle(std::string_view path, std::string_view body);

  const DriverConfig& config() const { return cfg_; }
  /// The remembered info of network ID, if any.
  std::optional<NetworkInfo> network_for_test(std::string_view id) const;

 private:
  PluginReply activate() const;
  PluginReply get_capabilities() const;
  PluginReply create_network(std::string_view body);
  PluginReply delete_network(std::string_view body);
  PluginReply allocate_network(std::string_view body);
  PluginReply free_network(std::string_view body);
  PluginReply create_endpoint(std::string_view body);
  PluginReply delete_endpoint(std::string_view body);
  PluginReply endpoint_info(std::string_view body);
  PluginReply join(std::string_view body);
  PluginReply leave(std::string_view body);
  PluginReply ipam_capabilities() const;
  PluginReply ipam_address_spaces() const;
  PluginReply request_pool(std::string_view body);
  PluginReply release_pool(std::string_view body);
  PluginReply request_address(std::string_view body);
  PluginReply release_address(std::string_view body);

  /// Weave's findNetworkInfo: memory first, then Docker.
  Result<NetworkInfo> find_network(const std::string& id);
  /// Deletes vethwl<id[:9]> or, failing that, the legacy vethwl<id[:5]>; logs and swallows errors.
  void delete_veths(std::string_view op, std::string_view endpoint_id);

  DriverConfig cfg_;
  RouterApi& router_;
  DockerApi* docker_;
  Links& links_;
  Logger log_;
  std::map<std::string, NetworkInfo, std::less<>> networks_;
};

}  // namespace weft::plugin
