#pragma once
// The iptables rules weave's router keeps on its host (spec §11.8, §6.8; Kubernetes options in
// kube-spec §3.8), as data, and the pure diff that turns "these rules should (not) be there" and
// what `iptables-save` shows into one `iptables-restore --noflush` batch. No I/O here: the
// applier (iptables.hpp) runs iptables-save once, asks this file for the batch, and runs
// iptables-restore once.
//
// Rule texts are written exactly as the spec gives them ("-o weave -j WEAVE-EXPOSE"). To tell
// whether a rule is present, both our text and iptables-save's rendering of it
// ("-A INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 6784 ...") are reduced to a canonical form
// (canonical_rule): core options (-s -d -i -o -p) sorted, addresses as networks with a prefix,
// the implicit "-m tcp"/"-m udp" dropped, quoting undone.
//
// Ownership, so that removal takes away exactly what was added:
//  * chains weft owns (`WEAVE` in nat, `WEAVE-EXPOSE` in filter): created when missing, never
//    flushed on apply (expose rules survive a re-apply), flushed and deleted on removal together
//    with every rule that jumps to them;
//  * chains weave-npc fills (`WEAVE-NPC`, `WEAVE-NPC-EGRESS`): created when missing, deleted on
//    removal only when empty and no longer referenced;
//  * rules in built-in chains: deleted by exact match (every copy).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/result.hpp"

namespace weft::datapath::host {

inline constexpr std::string_view kNatChain = "WEAVE";
inline constexpr std::string_view kExposeChain = "WEAVE-EXPOSE";
inline constexpr std::string_view kNpcChain = "WEAVE-NPC";
inline constexpr std::string_view kNpcEgressChain = "WEAVE-NPC-EGRESS";
/// The ipset of this peer's IPAM ranges that --no-masq-local exempts from SNAT (hash:net).
inline constexpr std::string_view kNoMasqLocalSet = "weaver-no-masq-local";
inline constexpr int kNpcNflogGroup = 86;

struct IptRule {
  std::string table;  ///< "filter" or "nat"
  std::string chain;
  std::string spec;  ///< the rule after the chain name, as the spec writes it
  friend bool operator==(const IptRule&, const IptRule&) = default;
};

enum class ChainOwner : std::uint8_t {
  weft,  ///< ours: flushed and deleted on removal
  npc,   ///< weave-npc's: created if missing; deleted on removal only if empty and unreferenced
};

struct IptChain {
  std::string table;
  std::string name;
  ChainOwner owner = ChainOwner::weft;
  friend bool operator==(const IptChain&, const IptChain&) = default;
};

/// A set of rules to put in place (apply_batch) or take away (remove_batch).
struct RulePlan {
  std::vector<IptChain> chains;  ///< created first when missing
  /// Kept at the top of their chain as one block, in this order: when the block is not there
  /// as a whole, every copy of these rules is deleted and the block inserted at position 1.
  std::vector<IptRule> top;
  /// Appended when missing.
  std::vector<IptRule> append;
  /// Lists a plan's rules, top first, for tests and logs.
  std::vector<IptRule> rules() const;
  void merge(const RulePlan& other);
};

/// What the router's rules depend on (weaver flags and the host).
struct RouterRulesConfig {
  std::string bridge = "weave";
  /// --docker-bridge: empty (Kubernetes, or no Docker) means no docker0 rules at all.
  std::string docker_bridge;
  /// The docker bridge's address: the INPUT DROP rules for the router's ports need it; without
  /// it (no such interface, or no address) those three rules are left out.
  std::optional<Ipv4> docker_bridge_ip;
  bool expect_npc = false;     ///< --expect-npc
  bool no_masq_local = false;  ///< --no-masq-local
  std::uint16_t port = 6783;   ///< --port (the INPUT rules use port and port+1)
  /// The TCP port of --http-addr, for the "Block non-local access" INPUT rule; none for a unix
  /// socket or no control API.
  std::optional<std::uint16_t> control_port;
};

/// The router's rules at start-up (spec §11.8): FORWARD block, INPUT rules, the nat chain
/// `WEAVE` hooked from POSTROUTING (with the --no-masq-local RETURN first), `WEAVE-EXPOSE` or
/// the NPC chains.
RulePlan router_rules(const RouterRulesConfig& cfg);

/// `weave expose` of an address whose subnet is C (spec §6.8): with `nat`, the nat rules
/// `-s C -d 224.0.0.0/4 -j RETURN`, `! -s C -d C -j MASQUERADE`, `-s C ! -d C -j MASQUERADE`;
/// without NPC, `WEAVE-EXPOSE -d C -j ACCEPT`. C is the address's network.
RulePlan expose_rules(const RouterRulesConfig& cfg, const Cidr& exposed, bool nat);

/// Everything `weave reset` takes away whatever flags the router ran with: both FORWARD
/// variants, the INPUT rules for `cfg`'s ports, the nat chain and `WEAVE-EXPOSE`, the NPC
/// chains (when weave-npc left them empty).
RulePlan reset_rules(const RouterRulesConfig& cfg);

// ---- the diff -----------------------------------------------------------------------------

/// A rule reduced for comparison (see the file comment); "" when the text cannot be split
/// (an unbalanced quote).
std::string canonical_rule(std::string_view spec);

/// One table as iptables-save prints it.
struct SavedTable {
  std::vector<std::string> chains;  ///< every chain, built-in ones included
  /// Per chain, its rules in order: the text after "-A CHAIN " as printed, and canonical.
  std::map<std::string, std::vector<std::string>> raw;
  std::map<std::string, std::vector<std::string>> canonical;
  bool has_chain(std::string_view name) const;
};
using SavedTables = std::map<std::string, SavedTable>;

/// Parses `iptables-save` output. Errors name the line that is not iptables-save syntax.
Result<SavedTables> parse_save(std::string_view text);

/// The `iptables-restore --noflush` input that makes `plan` hold given `now`; "" when it does.
/// Tables the plan uses but `now` lacks are treated as empty (only built-in chains).
std::string apply_batch(const RulePlan& plan, const SavedTables& now);
/// The input that takes away `plan`'s rules and chains (see the file comment); "" when none
/// is there.
std::string remove_batch(const RulePlan& plan, const SavedTables& now);

/// The CIDRs that cover [start, end) exactly, largest first (for the no-masq-local ipset).
std::vector<Cidr> range_cidrs(const Ipv4Range& r);

}  // namespace weft::datapath::host
