#pragma once
// The plugin's watcher policy (spec §9): when Docker starts a container, its endpoints on weave
// networks (driver `weave` or `weavemesh`) get weaveDNS names, and its ethwe* links announce their
// addresses (the stale-ARP fix: peers that cached an earlier holder of a reused address learn the
// new MAC at once). Pure: the shell (plugin/net plugin_watcher) asks Docker and carries the
// returned attach request out with the one attach executor (attach/core).
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weft/attach/plan.hpp"

namespace weft::plugin {

/// The NetworkIDs of a container inspect's NetworkSettings.Networks that have an IPv4 address:
/// the networks whose driver the shell must look up.
std::vector<std::string> watched_networks(const nlohmann::json& container);

/// The attach request for container ID: a name per weave-network endpoint (Hostname.Domainname
/// when both are set, <Name>.DOMAIN, and each alias), and the ARP announce on ethwe* when it has
/// a pid. DRIVERS maps NetworkID to its driver (networks Docker would not describe are absent).
/// nullopt: nothing to do (no weave endpoint).
std::optional<attach::Request> watch_request(const nlohmann::json& container, const std::string& id,
                                             const std::map<std::string, std::string>& drivers, std::string dns_domain);

}  // namespace weft::plugin
