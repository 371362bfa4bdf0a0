#pragma once
// The Docker API proxy's pure rewrites (spec §8.2-8.8): which requests are intercepted, which
// containers qualify, the WEAVE_CIDR grammar, and the JSON rewrites of create, start (old
// clients), exec and inspect, plus the /etc/hosts text. No sockets: the shell in proxy/net feeds
// these with request bodies and Docker's answers.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "weft/attach/plan.hpp"
#include "weft/base/ipv4.hpp"
#include "weft/base/result.hpp"

namespace weft::proxy {

using Json = nlohmann::json;

/// Settings from weaver's proxy flags that the rewrites depend on.
struct RewriteConfig {
  bool without_dns = false;
  bool no_default_ipalloc = false;
  bool no_multicast_route = false;
  std::string hostname_from_label;        ///< --hostname-from-label
  std::string hostname_match = "(.*)";    ///< --hostname-match (Go regexp; ECMAScript here)
  std::string hostname_replacement = "$1";
  std::string dns_domain = "weave.local.";  ///< with the trailing dot
  std::string dns_host;                     ///< host part of --dns-listen-address
  /// Host paths of the weavewait volumes (spec §8.10).
  std::string w_path, w_noop_path, w_nomcast_path;
};

enum class Route { create, start, inspect, exec_create, exec_inspect, pass };
/// §8.2: matched on the path only, for any method; an optional /vX.Y prefix.
Route classify(std::string_view path);
/// The {id} of /containers/{id}/... or /exec/{id}/json ("" if none).
std::string path_id(std::string_view path);

/// A WEAVE_CIDR spec: the attach plan's (attach/core), which turns each into an IPAM request.
using AddrSpec = attach::AddrSpec;

/// §8.3. nullopt: leave the container alone (NetworkMode, WEAVE_CIDR=none, --no-default-ipalloc).
/// An empty WEAVE_CIDR value means [net:default]. A malformed spec is an error.
Result<std::optional<std::vector<AddrSpec>>> qualifying_specs(std::string_view network_mode,
                                                              const std::vector<std::string>& env,
                                                              bool no_default_ipalloc);
/// Same, reading HostConfig.NetworkMode and Config.Env from a container inspect (or create body,
/// with top-level Env).
Result<std::optional<std::vector<AddrSpec>>> qualifying_specs(const Json& container, bool no_default_ipalloc);

/// Go's regexp.ReplaceAllString for --hostname-match/--hostname-replacement ($1 and ${1}).
Result<std::string> replace_hostname(std::string_view name, const std::string& match,
                                     const std::string& replacement);

/// An error the proxy answers with (plain text, §8.9).
struct HttpError {
  int status = 500;
  std::string message;
};

/// What to do with a create request.
struct CreatePlan {
  bool qualifies = false;
  /// The image must be inspected first (Entrypoint missing or empty in the request).
  bool needs_image = false;
  std::string image;
};
/// Parses the create body; an undecodable body is a 500 like Weave's (json decode error).
std::variant<CreatePlan, HttpError> plan_create(std::string_view body, bool no_default_ipalloc);

/// §8.4. `image` is the image inspect (null when not needed). Returns the new body (sorted keys).
std::variant<std::string, HttpError> rewrite_create(std::string_view body, std::string_view name_query,
                                                    const Json& image, const RewriteConfig& cfg);

/// §8.5 step 2 for old clients sending a HostConfig with start. `container` is its inspect.
/// nullopt: forward the body unchanged.
std::optional<std::string> rewrite_start_body(std::string_view body, std::string_view content_type,
                                              const Json& container, const RewriteConfig& cfg);

/// §8.7: `Cmd := ["/w/w"] + Cmd` when the container has a /w volume and qualifies.
std::optional<std::string> rewrite_exec(std::string_view body, const Json& container, bool no_default_ipalloc);

/// True if the container inspect shows the proxy's wrapper: Config.Entrypoint[0] == "/w/w".
bool has_weavewait(const Json& container);

/// §8.6 /etc/hosts text (without echo's extra newline); the attach plan writes it.
using attach::hosts_file;

/// Proxy settings the attach step depends on, beyond RewriteConfig.
struct AttachOptions {
  bool no_rewrite_hosts = false;
  std::string bridge = "weave";
};

/// §8.5 step 4: what the attach plan should do for a started container (its inspect, with the
/// State.Pid the shell waited for; FALLBACK_ID when it has no "Id"). nullopt: not the proxy's to
/// attach (no /w/w entrypoint, not running, or it does not qualify); a malformed WEAVE_CIDR is an
/// error. IPAM per spec with check-alive, ethwe as vethwepl<pid> on the bridge, /etc/hosts unless
/// --no-rewrite-hosts, the weaveDNS name hostname.domainname unless --without-dns.
Result<std::optional<attach::Request>> attach_request(const Json& container, const std::string& fallback_id, int pid,
                                                      const RewriteConfig& cfg, const AttachOptions& opt);

/// Inspect rewrite (§8.8) of a container JSON: NetworkSettings.{MacAddress,IPAddress,IPPrefixLen}.
void set_network_settings(Json& container, const std::string& mac, const Cidr& cidr);

/// JSON re-encoding as Weave does: object keys sorted.
std::string encode(const Json& j);

}  // namespace weft::proxy
