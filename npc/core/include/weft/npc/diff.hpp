#pragma once
// From one plan to the next as batch scripts: `ipset restore -exist` input and
// `iptables-restore --noflush` input (never one process per rule). Only what differs is touched:
// a pod event that changes one set member renders one `add`/`del` line and no iptables at all.
#include <cstddef>
#include <string>
#include <vector>

#include "weft/npc/plan.hpp"

namespace weft::npc {

struct Scripts {
  std::string ipset_pre;   ///< creates, member adds and deletes (before the rules change)
  std::string iptables;    ///< rule deletes, then appends; "" when no rule changes
  std::string ipset_post;  ///< destroys of sets no rule references any more
  std::size_t set_lines = 0;
  std::size_t rule_lines = 0;
  bool empty() const { return ipset_pre.empty() && iptables.empty() && ipset_post.empty(); }
};

/// The scripts that take the kernel from `from` to `to`. `comments`: whether sets carry comments
/// (the kernel may lack the extension).
Scripts diff_plans(const Plan& from, const Plan& to, bool comments = true);

/// iptables-restore --noflush input that creates (or flushes) every npc chain: the clean slate.
std::string reset_chains_script();
/// iptables-restore --noflush input that flushes every npc chain and deletes the ones the router's
/// FORWARD/INPUT hooks do not reference (WEAVE-NPC and WEAVE-NPC-EGRESS are left empty).
std::string teardown_chains_script();
/// iptables-restore --noflush input that deletes WEAVE-NPC and WEAVE-NPC-EGRESS (fails, harmlessly,
/// while the router's hooks still point at them).
std::string delete_hooked_chains_script();
/// ipset restore input that flushes, then destroys, every named set (the names weave-npc owns:
/// those that start "weave-"; `weaver-…` sets belong to the router).
std::string destroy_sets_script(const std::vector<std::string>& names);
/// Whether a set name belongs to weave-npc.
bool is_npc_set(const std::string& name);

}  // namespace weft::npc
