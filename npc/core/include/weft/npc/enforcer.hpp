#pragma once
// Keeps the kernel in the state compute_plan() describes for the current cluster view. Called from
// one thread (the controller's loop). Each sync() renders the difference from the last applied
// plan into at most three batch calls; after any failure it rebuilds from a clean slate.
#include <cstddef>
#include <string>
#include <vector>

#include "weft/base/logger.hpp"
#include "weft/base/result.hpp"
#include "weft/npc/netfilter.hpp"
#include "weft/npc/plan.hpp"

namespace weft::npc {

struct EnforcerStats {
  std::size_t syncs = 0;           ///< sync() calls that changed something
  std::size_t ipset_calls = 0;     ///< ipset restore/list invocations
  std::size_t iptables_calls = 0;  ///< iptables-restore invocations
  std::size_t set_lines = 0;       ///< ipset script lines applied
  std::size_t rule_lines = 0;      ///< iptables rule lines applied
  std::size_t errors = 0;          ///< failed applies (each followed by a rebuild)
  std::size_t rebuilds = 0;
  std::size_t repairs = 0;         ///< verify() found the kernel changed behind npc's back
};

class Enforcer {
 public:
  Enforcer(Netfilter& nf, PlanOptions options, Logger log);

  /// The clean slate: creates or flushes every npc chain, destroys every `weave-` set, probes ipset
  /// comment support, and installs the base rules.
  Result<void> start();
  /// Brings the kernel to compute_plan(cluster).
  Result<void> sync(const Cluster& cluster);
  /// Checks that every planned set exists and every npc chain holds as many rules as planned (two
  /// batch calls); rebuilds when not. Something else flushing the tables (a firewalld reload, kube
  /// spec §7 item 9) is repaired by the next verify().
  Result<void> verify();
  /// Leaves nothing behind: flushes the chains, deletes those the router does not hook, destroys the
  /// sets. WEAVE-NPC and WEAVE-NPC-EGRESS are deleted too when no hook references them.
  Result<void> stop();

  const Plan& applied() const { return applied_; }
  const EnforcerStats& stats() const { return stats_; }
  bool comments() const { return comments_; }

 private:
  Result<void> apply(const Plan& from, const Plan& to);
  Result<void> clean_slate();
  Result<void> rebuild(Plan plan);

  Netfilter& nf_;
  PlanOptions options_;
  Logger log_;
  Plan applied_;
  bool dirty_ = true;  ///< the kernel may not match applied_: rebuild on the next sync
  bool comments_ = true;
  std::vector<std::string> notes_;
  EnforcerStats stats_;
};

}  // namespace weft::npc
