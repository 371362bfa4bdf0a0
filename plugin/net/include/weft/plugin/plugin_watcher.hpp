#pragma once
// PluginWatcher: the plugin's watcher shell (spec §9). On a Docker start event it inspects the
// container and its networks, asks the pure policy (weft/plugin/watcher.hpp) what to do, and
// carries that out with the one attach executor: the ARP announce in the container's namespace,
// then the weaveDNS names, handed to DNS_SINK (weaver registers them in its own nameserver).
// Runs on the caller's thread (weaver's Docker events thread); it blocks on Docker's API.
#include <functional>
#include <string>
#include <vector>

#include "weft/attach/plan.hpp"
#include "weft/base/logger.hpp"
#include "weft/http/client.hpp"

namespace weft::plugin {

class PluginWatcher {
 public:
  using DnsSink = std::function<void(const std::string& id, std::vector<attach::DnsName> names)>;
  PluginWatcher(http::Endpoint docker, std::string dns_domain, DnsSink dns_sink, Logger log)
      : docker_(std::move(docker)),
        dns_domain_(std::move(dns_domain)),
        dns_sink_(std::move(dns_sink)),
        log_(std::move(log)) {}

  /// A container started (full ID). Errors talking to Docker leave it alone.
  void container_started(const std::string& id);

 private:
  http::Endpoint docker_;
  std::string dns_domain_;
  DnsSink dns_sink_;
  Logger log_;
};

}  // namespace weft::plugin
