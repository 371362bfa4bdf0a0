#include "weft/npc/enforcer.hpp"

#include <map>
#include <unordered_set>

#include "weft/npc/diff.hpp"

namespace weft::npc {

Enforcer::Enforcer(Netfilter& nf, PlanOptions options, Logger log)
    : nf_(nf), options_(std::move(options)), log_(std::move(log)) {}

Result<void> Enforcer::clean_slate() {
  ++stats_.iptables_calls;
  if (auto r = nf_.iptables_restore(reset_chains_script()); !r) {
    return make_error("cannot reset the weave-npc chains: {}", r.error().message);
  }
  ++stats_.ipset_calls;
  auto names = nf_.ipset_names();
  if (!names) return make_error("cannot list ipsets: {}", names.error().message);
  const auto script = destroy_sets_script(*names);
  if (!script.empty()) {
    ++stats_.ipset_calls;
    if (auto r = nf_.ipset_restore(script); !r) return make_error("cannot destroy old weave- ipsets: {}", r.error().message);
  }
  applied_ = Plan{};
  dirty_ = false;
  return {};
}

Result<void> Enforcer::start() {
  WEFT_TRY_VOID(clean_slate());
  // Weave probed comment support the same way (a `hash:ip comment` set created and destroyed).
  ++stats_.ipset_calls;
  comments_ = nf_.ipset_restore("create weave-test-comment hash:ip comment\ndestroy weave-test-comment\n").ok();
  if (!comments_) log_.warn("ipset comments are not supported by this kernel; sets will carry none");
  return sync(Cluster{});
}

Result<void> Enforcer::apply(const Plan& from, const Plan& to) {
  const Scripts s = diff_plans(from, to, comments_);
  if (s.empty()) return {};
  ++stats_.syncs;
  stats_.set_lines += s.set_lines;
  stats_.rule_lines += s.rule_lines;
  if (!s.ipset_pre.empty()) {
    ++stats_.ipset_calls;
    if (auto r = nf_.ipset_restore(s.ipset_pre); !r) return make_error("ipset restore: {}", r.error().message);
  }
  if (!s.iptables.empty()) {
    ++stats_.iptables_calls;
    if (auto r = nf_.iptables_restore(s.iptables); !r) return make_error("iptables-restore: {}", r.error().message);
  }
  if (!s.ipset_post.empty()) {
    ++stats_.ipset_calls;
    if (auto r = nf_.ipset_restore(s.ipset_post); !r) return make_error("ipset restore: {}", r.error().message);
  }
  return {};
}

Result<void> Enforcer::sync(const Cluster& cluster) {
  Plan plan = compute_plan(cluster, options_);
  if (plan.notes != notes_) {
    for (const auto& n : plan.notes) log_.warn("{}", n);
    notes_ = plan.notes;
  }
  if (!dirty_) {
    auto r = apply(applied_, plan);
    if (r) {
      applied_ = std::move(plan);
      return {};
    }
    ++stats_.errors;
    log_.error("applying the policy change failed ({}); rebuilding from a clean slate", r.error().message);
  }
  return rebuild(std::move(plan));
}

Result<void> Enforcer::rebuild(Plan plan) {
  ++stats_.rebuilds;
  dirty_ = true;
  WEFT_TRY_VOID(clean_slate());
  dirty_ = true;
  if (auto r = apply(Plan{}, plan); !r) {
    ++stats_.errors;
    return make_error("rebuilding the weave-npc rules failed: {}", r.error().message);
  }
  dirty_ = false;
  applied_ = std::move(plan);
  return {};
}

Result<void> Enforcer::verify() {
  if (dirty_) return {};  // the next sync rebuilds anyway
  ++stats_.ipset_calls;
  auto names = nf_.ipset_names();
  if (!names) return make_error("cannot list ipsets: {}", names.error().message);
  std::string missing;
  std::unordered_set<std::string> have(names->begin(), names->end());
  for (const auto& [name, _] : applied_.sets) {
    if (have.count(name) == 0) {
      missing = "ipset " + name;
      break;
    }
  }
  if (missing.empty()) {
    ++stats_.iptables_calls;
    auto saved = nf_.iptables_save();
    if (!saved) return make_error("cannot read the filter table: {}", saved.error().message);
    std::map<std::string, std::size_t> counts;
    std::size_t b = 0;
    const std::string& s = *saved;
    while (b < s.size()) {
      auto e = s.find('\n', b);
      if (e == std::string::npos) e = s.size();
      if (s.compare(b, 3, "-A ") == 0) {
        auto sp = s.find(' ', b + 3);
        if (sp != std::string::npos && sp < e) ++counts[s.substr(b + 3, sp - b - 3)];
      }
      b = e + 1;
    }
    for (const auto& [chain, rules] : applied_.chains) {
      if (counts[chain] != rules.size()) {
        missing = fmt::format("chain {} ({} of {} rules)", chain, counts[chain], rules.size());
        break;
      }
    }
  }
  if (missing.empty()) return {};
  ++stats_.repairs;
  log_.warn("{} changed behind weave-npc's back; rebuilding", missing);
  Plan plan = applied_;
  return rebuild(std::move(plan));
}

Result<void> Enforcer::stop() {
  ++stats_.iptables_calls;
  auto chains = nf_.iptables_restore(teardown_chains_script());
  // Deleting the hooked chains fails while the router still jumps to them; that is expected.
  ++stats_.iptables_calls;
  (void)nf_.iptables_restore(delete_hooked_chains_script());
  ++stats_.ipset_calls;
  auto names = nf_.ipset_names();
  if (!names) return make_error("cannot list ipsets: {}", names.error().message);
  const auto script = destroy_sets_script(*names);
  Result<void> sets;
  if (!script.empty()) {
    ++stats_.ipset_calls;
    sets = nf_.ipset_restore(script);
  }
  applied_ = Plan{};
  dirty_ = true;
  if (!chains) return make_error("cannot remove the weave-npc chains: {}", chains.error().message);
  if (!sets) return make_error("cannot destroy the weave- ipsets: {}", sets.error().message);
  return {};
}

}  // namespace weft::npc
