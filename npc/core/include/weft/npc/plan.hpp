#pragma once
// The desired netfilter state for a Cluster (kube spec §4.2-§4.7): every ipset with its members and
// every rule of the weave-npc chains, with Weave's chain names, set names and rule texts. A pure
// function of the cluster view (house style R2); the controller diffs two plans (diff.hpp) so an
// event changes only what it changes.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "weft/npc/model.hpp"

namespace weft::npc {

inline constexpr const char* kChainIngress = "WEAVE-NPC-INGRESS";
inline constexpr const char* kChainDefault = "WEAVE-NPC-DEFAULT";
inline constexpr const char* kChainMain = "WEAVE-NPC";
inline constexpr const char* kChainEgress = "WEAVE-NPC-EGRESS";
inline constexpr const char* kChainEgressAccept = "WEAVE-NPC-EGRESS-ACCEPT";
inline constexpr const char* kChainEgressCustom = "WEAVE-NPC-EGRESS-CUSTOM";
inline constexpr const char* kChainEgressDefault = "WEAVE-NPC-EGRESS-DEFAULT";
/// Every chain weave-npc owns, in the order they are declared.
inline const std::vector<std::string>& npc_chains() {
  static const std::vector<std::string> chains{kChainIngress,      kChainDefault,      kChainMain,
                                               kChainEgressAccept, kChainEgressCustom, kChainEgressDefault,
                                               kChainEgress};
  return chains;
}
/// The NFLOG group dropped packets go to.
inline constexpr int kNflogGroup = 86;

struct PlanOptions {
  bool allow_mcast = true;                          ///< --allow-mcast
  std::string bridge_port_name = "vethwe-bridge";  ///< --bridge-port-name
  std::size_t max_list_size = 1024;                 ///< --max-list-size
};

struct IpSet {
  std::string name;  ///< weave-<shortName(from)>
  std::string type;  ///< hash:ip, hash:net, list:set, hash:ip,port
  std::string from;  ///< the hashed string (kept for logs and tests)
  std::map<std::string, std::string> entries;  ///< entry -> comment
  std::size_t list_size = 0;                   ///< `size` of a list:set
  bool operator==(const IpSet&) const = default;
};

/// Rules are the iptables-restore text after `-A <chain> `; two rules are the same rule when their
/// texts are equal (Weave's identity too, §4.5).
struct Plan {
  std::map<std::string, IpSet> sets;                          ///< by name
  std::map<std::string, std::vector<std::string>> chains;     ///< every npc chain, rules in order
  std::vector<std::string> notes;  ///< non-fatal findings (e.g. a list:set that overflows)
};

Plan compute_plan(const Cluster& cluster, const PlanOptions& options = {});

}  // namespace weft::npc
