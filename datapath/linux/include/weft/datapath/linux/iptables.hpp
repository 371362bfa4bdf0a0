#pragma once
// Applies the rule plans of iptables_plan.hpp to this network namespace: one `iptables-save`,
// then at most one `iptables-restore -w --noflush` with the whole diff (all tables in one batch),
// so a plan goes in or out atomically per table and idempotently. The programs are the host's
// (iptables-nft or -legacy, whichever `iptables` is): the rule ABI behind them is not worth
// re-implementing, and libiptc would miss an nft host's rules. The one place in datapath/linux
// that shells out, together with `ipset` for --no-masq-local's set.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/linux/iptables_plan.hpp"

namespace weft::datapath::host {

/// The programs the applier runs; FakeIptablesTools-style twins in tests.
class IptablesTools {
 public:
  virtual ~IptablesTools() = default;
  /// `iptables-save` (every table).
  virtual Result<std::string> save() = 0;
  /// `iptables-restore -w --noflush` fed `batch` on stdin; the error carries its stderr.
  virtual Result<void> restore(std::string_view batch) = 0;
  /// `ipset restore` fed `batch`; the error carries its stderr.
  virtual Result<void> ipset_restore(std::string_view batch) = 0;
};

/// The real programs, found on PATH.
std::unique_ptr<IptablesTools> system_iptables_tools();

class Iptables {
 public:
  explicit Iptables(std::unique_ptr<IptablesTools> tools = system_iptables_tools());
  /// Puts `plan` in place (missing chains and rules; the top blocks re-positioned when needed).
  /// A concurrent writer between save and restore makes the batch fail: it is retried twice
  /// from a fresh save.
  Result<void> apply(const RulePlan& plan);
  /// Takes `plan` away (see iptables_plan.hpp for what that means per chain).
  Result<void> remove(const RulePlan& plan);

  /// --no-masq-local: creates the hash:net set `name` if missing and makes its members exactly
  /// `cidrs` (atomically, by swapping in a filled copy).
  Result<void> set_ipset(std::string_view name, const std::vector<Cidr>& cidrs);
  /// Destroys the set if it exists (after the rules that use it are gone).
  Result<void> destroy_ipset(std::string_view name);

 private:
  Result<void> run(const RulePlan& plan, bool applying);
  std::unique_ptr<IptablesTools> tools_;
};

}  // namespace weft::datapath::host
