#include "host_rules.hpp"

#include "weft/datapath/linux/rtnl.hpp"

namespace weft::weaver {

namespace host = datapath::host;

HostRules::HostRules(host::RouterRulesConfig cfg, std::set<Cidr> no_nat,
                     std::function<void(const std::set<Cidr>&)> save_no_nat, Logger log, host::Iptables ipt)
    : cfg_(std::move(cfg)),
      no_nat_(std::move(no_nat)),
      save_no_nat_(std::move(save_no_nat)),
      log_(std::move(log)),
      ipt_(std::move(ipt)) {}

Result<void> HostRules::start(const std::vector<Cidr>& bridge_addresses) {
  if (!cfg_.docker_bridge.empty() && !cfg_.docker_bridge_ip) {
    if (auto nl = host::Rtnl::open()) {
      if (auto addrs = nl->addresses(cfg_.docker_bridge); addrs && !addrs->empty()) {
        cfg_.docker_bridge_ip = addrs->front().cidr.addr();
      }
    }
    if (!cfg_.docker_bridge_ip) {
      log_.info("docker bridge {} has no IPv4 address: not adding the INPUT rules that guard port {} from containers",
                cfg_.docker_bridge, cfg_.port);
    }
  }
  if (cfg_.no_masq_local) {
    // The set must exist before the rule that names it; empty until IPAM reports our ranges.
    WEFT_TRY_VOID(ipt_.set_ipset(host::kNoMasqLocalSet, set_members_.value_or(std::vector<Cidr>{})));
  }
  WEFT_TRY_VOID(ipt_.apply(host::router_rules(cfg_)));
  started_ = true;
  for (const auto& a : bridge_addresses) {
    bool nat = no_nat_.count(a.network()) == 0;
    if (auto r = expose(a, nat); !r) return r;
    log_.info("re-exposed {} (already on the bridge){}", a, nat ? "" : " without NAT");
  }
  return {};
}

Result<void> HostRules::expose(const Cidr& addr, bool nat) {
  auto subnet = addr.network();
  WEFT_TRY_VOID(ipt_.apply(host::expose_rules(cfg_, subnet, nat)));
  exposed_.insert(subnet);
  bool changed = nat ? no_nat_.erase(subnet) > 0 : no_nat_.insert(subnet).second;
  if (changed && save_no_nat_) save_no_nat_(no_nat_);
  return {};
}

void HostRules::owned_ranges(const std::vector<Ipv4Range>& ranges) {
  if (!cfg_.no_masq_local) return;
  std::vector<Cidr> members;
  for (const auto& r : ranges) {
    auto c = host::range_cidrs(r);
    members.insert(members.end(), c.begin(), c.end());
  }
  if (set_members_ == members) return;
  set_members_ = members;
  if (!started_) return;
  if (auto r = ipt_.set_ipset(host::kNoMasqLocalSet, members); !r) {
    log_.error("updating ipset {}: {}", host::kNoMasqLocalSet, r.error().message);
  }
}

void HostRules::stop() {
  if (!started_) return;
  started_ = false;
  if (cfg_.expect_npc) {
    log_.info("--expect-npc: leaving the iptables rules in place (policy stays enforced); 'weave reset' removes them");
    return;
  }
  host::RulePlan all = host::router_rules(cfg_);
  for (const auto& s : exposed_) {
    all.merge(host::expose_rules(cfg_, s, true));
    all.merge(host::expose_rules(cfg_, s, false));
  }
  if (auto r = ipt_.remove(all); !r) log_.error("removing iptables rules: {}", r.error().message);
  if (cfg_.no_masq_local) {
    if (auto r = ipt_.destroy_ipset(host::kNoMasqLocalSet); !r) log_.error("{}", r.error().message);
  }
}

}  // namespace weft::weaver
