// The plugin watcher's shell (see plugin_watcher.hpp).
#include "weft/plugin/plugin_watcher.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>

#include "weft/attach/executor.hpp"
#include "weft/attach/linux_host.hpp"
#include "weft/plugin/watcher.hpp"

namespace weft::plugin {
namespace {

/// GET TARGET from Docker as a JSON object (nullopt on any error).
std::optional<nlohmann::json> get_object(const http::Endpoint& docker, const std::string& target) {
  auto r = http::request(docker, {.method = "GET", .target = target});
  if (!r || r->status != 200) return std::nullopt;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

void PluginWatcher::container_started(const std::string& id) {
  auto c = get_object(docker_, fmt::format("/v1.24/containers/{}/json", id));
  if (!c) return;
  std::map<std::string, std::string> drivers;
  for (const auto& nid : watched_networks(*c)) {
    if (drivers.count(nid)) continue;
    auto n = get_object(docker_, fmt::format("/v1.24/networks/{}", nid));
    if (!n) continue;
    auto d = n->find("Driver");
    drivers[nid] = d != n->end() && d->is_string() ? d->get<std::string>() : "";
  }
  auto rq = watch_request(*c, id, drivers, dns_domain_);
  if (!rq) return;
  // NB: watch_request() asks for the announce only when State.Pid is a positive integer.
  std::string netns;
  if (!rq->announce_prefix.empty()) netns = fmt::format("/proc/{}/ns/net", c->at("State").at("Pid").get<int>());
  attach::LinuxAttachHost host({.netns_path = netns, .dns_sink = dns_sink_});
  auto out = attach::execute(attach::plan(std::move(*rq)), host);
  for (const auto& w : out.warnings) {
    if (w.step == attach::Step::announce) log_.warn("plugin watcher: ARP setup of {}: {}", id.substr(0, 12), w.message);
  }
}

}  // namespace weft::plugin
