#pragma once
// In-memory twins of the plugin's interfaces (plugin/core/include/weft/plugin/apis.hpp). They
// record every call so tests can assert on what the Driver asked for.
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "weft/plugin/apis.hpp"

namespace weft::plugin {

/// A router IPAM: allocate hands out the first free address of the subnet after its network
/// address (or of `default_net` when none is given); claims conflict when the address is taken.
class FakeRouterApi final : public RouterApi {
 public:
  Cidr default_net = *Cidr::parse("10.32.0.0/12");
  std::optional<Error> fail_next;  ///< returned (once) by the next call
  std::set<Ipv4> taken;
  std::vector<std::string> calls;  ///< "PUT /ip/_/10.32.0.5/12", "POST /ip/_/10.32.64.0/18", ...

  Result<void> claim(std::string_view ident, const Cidr& addr) override {
    calls.push_back(fmt::format("PUT /ip/{}/{}/{}", ident, addr.addr(), addr.prefix()));
    if (auto e = take_failure()) return *e;
    if (!taken.insert(addr.addr()).second) {
      return make_error("400 Bad Request: Unable to claim: address {} is already owned by x", addr);
    }
    return {};
  }
  Result<Cidr> allocate(std::string_view ident, const std::optional<Cidr>& subnet) override {
    calls.push_back(subnet ? fmt::format("POST /ip/{}/{}", ident, *subnet) : fmt::format("POST /ip/{}", ident));
    if (auto e = take_failure()) return *e;
    Cidr s = subnet ? *subnet : default_net;
    for (std::uint64_t i = 1; i + 1 < s.size(); ++i) {
      Ipv4 a(static_cast<std::uint32_t>(s.network().addr().value() + i));
      if (taken.insert(a).second) return Cidr(a, s.prefix());
    }
    return make_error("400 Bad Request: no space in {}", s);
  }
  Result<void> release(Ipv4 addr) override {
    calls.push_back(fmt::format("DELETE /ip/{}", addr));
    if (auto e = take_failure()) return *e;
    if (taken.erase(addr) == 0) return Error{"400 Bad Request: Delete: no addresses for ID"};
    return {};
  }
  Result<Cidr> default_subnet() override {
    calls.push_back("GET /ipinfo/defaultsubnet");
    if (auto e = take_failure()) return *e;
    return default_net;
  }

 private:
  std::optional<Error> take_failure() {
    auto e = std::move(fail_next);
    fail_next.reset();
    return e;
  }
};

class FakeDockerApi final : public DockerApi {
 public:
  std::map<std::string, DockerNetwork> networks;
  std::vector<std::string> lookups;
  Result<DockerNetwork> inspect_network(std::string_view id) override {
    lookups.emplace_back(id);
    auto it = networks.find(std::string(id));
    if (it == networks.end()) return make_error("No such network: {}", id);
    return it->second;
  }
};

/// Host links in a set; MACs are made up from a counter. Thread-safe (the integration test reads
/// it from the test thread while the plugin thread writes).
class FakeLinks final : public Links {
 public:
  std::optional<Error> fail_create;

  Result<Mac> create_veth(const VethPair& names) override {
    std::lock_guard lock(mu_);
    if (fail_create) return *fail_create;
    links_[names.host] = names.guest;
    links_[names.guest] = names.host;
    ++n_;
    return Mac({0x02, 0x42, 0x0a, 0x20, 0x00, static_cast<std::uint8_t>(n_)});
  }
  Result<bool> delete_link(std::string_view name) override {
    std::lock_guard lock(mu_);
    deletes_.emplace_back(name);
    auto it = links_.find(std::string(name));
    if (it == links_.end()) return false;
    links_.erase(it->second);
    links_.erase(it);
    return true;
  }
  /// Adds a lone link, e.g. a legacy-named veth from an earlier plugin.
  void add_for_test(const std::string& host, const std::string& guest) {
    std::lock_guard lock(mu_);
    links_[host] = guest;
    links_[guest] = host;
  }
  bool has(const std::string& name) const {
    std::lock_guard lock(mu_);
    return links_.count(name) != 0;
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return links_.size();
  }
  std::vector<std::string> deletes() const {
    std::lock_guard lock(mu_);
    return deletes_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> links_;
  std::vector<std::string> deletes_;
  int n_ = 0;
};

}  // namespace weft::plugin
