// The plugin watcher's policy (see watcher.hpp).
#include "weft/plugin/watcher.hpp"

namespace weft::plugin {
namespace {

using Json = nlohmann::json;

std::string str(const Json& j, const char* k) {
  if (!j.is_object()) return {};
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const Json* object_at(const Json& j, const char* k) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(k);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

const Json* networks(const Json& c) {
  const Json* ns = object_at(c, "NetworkSettings");
  return ns ? object_at(*ns, "Networks") : nullptr;
}

}  // namespace

std::vector<std::string> watched_networks(const Json& c) {
  std::vector<std::string> out;
  const Json* nets = networks(c);
  if (!nets) return out;
  for (const auto& [name, n] : nets->items()) {
    if (n.is_object() && Ipv4::parse(str(n, "IPAddress"))) out.push_back(str(n, "NetworkID"));
  }
  return out;
}

std::optional<attach::Request> watch_request(const Json& c, const std::string& id,
                                             const std::map<std::string, std::string>& drivers,
                                             std::string dns_domain) {
  const Json* nets = networks(c);
  if (!nets) return std::nullopt;
  if (!dns_domain.empty() && dns_domain.back() == '.') dns_domain.pop_back();
  std::string name = str(c, "Name");
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  const Json* cfg = object_at(c, "Config");
  std::string host = cfg ? str(*cfg, "Hostname") : "", dom = cfg ? str(*cfg, "Domainname") : "";
  attach::Request rq;
  rq.ident = id;
  for (const auto& [net_name, n] : nets->items()) {
    if (!n.is_object()) continue;
    auto ip = Ipv4::parse(str(n, "IPAddress"));
    if (!ip) continue;
    auto d = drivers.find(str(n, "NetworkID"));
    if (d == drivers.end() || (d->second != "weavemesh" && d->second != "weave")) continue;
    if (!host.empty() && !dom.empty()) rq.names.push_back({host + "." + dom, *ip});
    if (!name.empty()) rq.names.push_back({name + "." + dns_domain, *ip});
    if (auto al = n.find("Aliases"); al != n.end() && al->is_array()) {
      for (const auto& a : *al) {
        if (a.is_string()) rq.names.push_back({a.get<std::string>(), *ip});
      }
    }
  }
  if (rq.names.empty()) return std::nullopt;
  int pid = 0;
  if (const Json* st = object_at(c, "State")) {
    if (auto p = st->find("Pid"); p != st->end() && p->is_number_integer()) pid = p->get<int>();
  }
  if (pid > 0) rq.announce_prefix = "ethwe";
  return rq;
}

}  // namespace weft::plugin
