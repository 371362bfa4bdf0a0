#pragma once
// weaver's iptables rules (spec §11.8): the router's rules at start-up, the expose rules of
// `POST /expose` (§6.8), --no-masq-local's ipset of this peer's IPAM ranges, and their removal
// when weaver stops. The rules themselves are data (datapath/linux/iptables_plan.hpp); this
// class decides when to apply what.
//
// On a clean stop the rules go (`weave stop` leaves no rules behind) -- except with
// --expect-npc: there the FORWARD hooks are what keeps policy enforced (an empty WEAVE-NPC ends
// in DROP), and removing them while the router restarts would open the pods, so they stay until
// `weave reset`. At start, addresses already on the bridge are exposed again (as Weave's rules
// outlived a restart), with NAT unless they were exposed with skipNAT.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/linux/iptables.hpp"
#include "weft/datapath/linux/iptables_plan.hpp"

namespace weft::weaver {

class HostRules {
 public:
  /// `no_nat` is the persisted set of subnets exposed with skipNAT; `save_no_nat` writes it.
  HostRules(datapath::host::RouterRulesConfig cfg, std::set<Cidr> no_nat,
            std::function<void(const std::set<Cidr>&)> save_no_nat, Logger log,
            datapath::host::Iptables ipt = datapath::host::Iptables());
  /// Applies the router's rules (creating the ipset first with --no-masq-local) and re-exposes
  /// `bridge_addresses`. Fails with iptables' own message.
  Result<void> start(const std::vector<Cidr>& bridge_addresses);
  /// POST /expose: the rules for `addr`'s subnet.
  Result<void> expose(const Cidr& addr, bool nat);
  /// --no-masq-local: this peer's IPAM ranges changed.
  void owned_ranges(const std::vector<Ipv4Range>& ranges);
  /// Removes everything start() and expose() added (not with --expect-npc, see above).
  void stop();
  bool no_masq_local() const { return cfg_.no_masq_local; }

 private:
  datapath::host::RouterRulesConfig cfg_;
  std::set<Cidr> no_nat_;
  std::function<void(const std::set<Cidr>&)> save_no_nat_;
  Logger log_;
  datapath::host::Iptables ipt_;
  std::set<Cidr> exposed_;  ///< subnets whose rules we added (for stop())
  std::optional<std::vector<Cidr>> set_members_;
  bool started_ = false;
};

}  // namespace weft::weaver
