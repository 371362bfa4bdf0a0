#pragma once
// The Netfilter interface over the batch programs: `ipset restore -exist`, `iptables-restore
// --noflush --wait` (whichever iptables backend the host's alternatives pick, as Weave's image
// selected one with IPTABLES_BACKEND) and `ipset list -name`. One process per batch, never one per
// rule; the script goes in on stdin, a refusal comes back with the program's own message.
#include <string>
#include <vector>

#include "weft/npc/netfilter.hpp"

namespace weft::npc {

class ProcessNetfilter final : public Netfilter {
 public:
  /// `backend`: "" for whatever `iptables-restore`/`iptables-save` are, else "nft" or "legacy"
  /// (IPTABLES_BACKEND) for iptables-<backend>-restore/-save.
  explicit ProcessNetfilter(const std::string& backend = "", std::string ipset = "ipset")
      : iptables_restore_(backend.empty() ? "iptables-restore" : "iptables-" + backend + "-restore"),
        iptables_save_(backend.empty() ? "iptables-save" : "iptables-" + backend + "-save"),
        ipset_(std::move(ipset)) {}

  Result<void> ipset_restore(const std::string& script) override;
  Result<void> iptables_restore(const std::string& script) override;
  Result<std::vector<std::string>> ipset_names() override;
  Result<std::string> iptables_save() override;

 private:
  std::string iptables_restore_;
  std::string iptables_save_;
  std::string ipset_;
};

/// Runs argv[0] (searched on PATH) with `input` on stdin; returns its stdout, or an error with its
/// exit status and stderr.
Result<std::string> run_program(const std::vector<std::string>& argv, const std::string& input);

}  // namespace weft::npc
