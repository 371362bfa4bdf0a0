#pragma once
// The kernel side of weave-npc as a batch interface (house style R5): whole scripts go in, one
// process or library call per script. npc/linux has the real one (ipset / iptables-restore);
// tests/npc/fake_netfilter.hpp keeps an in-memory kernel that refuses what the real one refuses.
#include <string>
#include <vector>

#include "weft/base/result.hpp"

namespace weft::npc {

class Netfilter {
 public:
  virtual ~Netfilter() = default;
  /// `ipset restore -exist` with `script` on stdin.
  virtual Result<void> ipset_restore(const std::string& script) = 0;
  /// `iptables-restore --noflush` (table filter) with `script` on stdin.
  virtual Result<void> iptables_restore(const std::string& script) = 0;
  /// The names of every ipset in the kernel (`ipset list -name`).
  virtual Result<std::vector<std::string>> ipset_names() = 0;
  /// The filter table as `iptables-save -t filter` prints it.
  virtual Result<std::string> iptables_save() = 0;
};

}  // namespace weft::npc
