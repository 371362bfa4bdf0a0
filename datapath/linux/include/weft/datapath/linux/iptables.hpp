#pragma once
// The filter FORWARD rules weave's router keeps at the top of the chain (spec §11.8, without
// NPC), so bridged container traffic survives a FORWARD policy of DROP (Docker sets one, and
// br_netfilter sends bridged frames through iptables):
//   -i docker0 -o weave -j DROP
//   -i weave -o weave -j ACCEPT
//   -i weave ! -o weave -j ACCEPT
//   -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
// These run the iptables program (iptables-nft or -legacy, whichever the host uses), the one
// place in datapath/linux that shells out: the rule ABI behind it is not worth re-implementing.
#include <string>
#include <vector>

#include "weft/base/logger.hpp"
#include "weft/base/result.hpp"

namespace weft::datapath::host {

/// The rule specs (arguments after the chain name), in the order they should appear.
std::vector<std::vector<std::string>> forward_rules(const std::string& bridge);
/// Inserts the missing rules at the top of FORWARD. Fails (changing nothing further) when
/// iptables is missing or refuses.
Result<void> ensure_forward_rules(const std::string& bridge);
/// Deletes the rules (absent ones are fine).
Result<void> remove_forward_rules(const std::string& bridge);

/// Runs `iptables -w ARGS...` in the calling thread's namespace (wrap in in_netns() to act in a
/// container's), output discarded. Returns its exit status, or -1 if it could not be started.
int run_iptables_in_current_netns(const std::vector<std::string>& args);

}  // namespace weft::datapath::host
