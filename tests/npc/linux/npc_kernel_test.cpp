// The Enforcer against the real kernel: ipset and iptables-restore in a private network namespace
// (unshare(CLONE_NEWNET) in this process; nothing touches the host's tables). It checks that what
// the kernel holds after a burst equals the plan, that stop() leaves nothing, and prints what the
// burst of issue 14 (50 policies, 500 pod events) costs: a measurement, not a timed assertion.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "npc_fixtures.hpp"
#include "weft/npc/enforcer.hpp"
#include "weft/npc/process_netfilter.hpp"
#include "weft/npc/short_name.hpp"

namespace weft::npc {
namespace {

using namespace testing;  // NOLINT

std::size_t count_lines(const std::string& s, const std::string& prefix) {
  std::size_t n = 0, b = 0;
  while (b < s.size()) {
    auto e = s.find('\n', b);
    if (e == std::string::npos) e = s.size();
    if (s.compare(b, prefix.size(), prefix) == 0) ++n;
    b = e + 1;
  }
  return n;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

class NpcKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || ::unshare(CLONE_NEWNET) != 0) {
      if (std::getenv("CI") != nullptr) FAIL() << "needs root for a private network namespace (CI cannot skip)";
      GTEST_SKIP() << "needs root for a private network namespace";
    }
    if (!run_program({"ipset", "list", "-name"}, "") || !run_program({"iptables-restore", "--version"}, "")) {
      FAIL() << "needs ipset and iptables-restore (scripts/install-deps)";
    }
  }
};

TEST_F(NpcKernel, BurstOf50PoliciesAnd500PodsMatchesThePlanAndStopLeavesNothing) {
  ProcessNetfilter nf;
  Enforcer e(nf, {}, null_logger());
  ASSERT_TRUE(e.start().ok());
  Cluster c;
  burst_policies(c);
  auto s0 = e.stats();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(e.sync(c).ok());
  const double policies_ms = ms_since(t0);
  auto s1 = e.stats();
  burst_pods(c);
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(e.sync(c).ok());
  const double pods_ms = ms_since(t0);
  auto s2 = e.stats();

  // The kernel holds exactly the plan.
  const Plan plan = compute_plan(c);
  auto names = nf.ipset_names();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), plan.sets.size());
  std::size_t rules = 0;
  for (const auto& [_, r] : plan.chains) rules += r.size();
  auto saved = run_program({"iptables-save", "-t", "filter"}, "");
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(count_lines(*saved, "-A WEAVE-NPC"), rules);
  const auto all0 = ipset_name("ns0:");
  auto listed = run_program({"ipset", "list", all0}, "");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(count_lines(*listed, "10.32."), plan.sets.at(all0).entries.size());
  EXPECT_EQ(plan.sets.at(all0).entries.size(), 50u);

  // Pod events one at a time (no coalescing): each costs one ipset batch and no iptables call.
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    put(c, pod("ns1", "pod1", "10.32.0.2", {{"app", "app" + std::to_string(i % 7)}}));
    ASSERT_TRUE(e.sync(c).ok());
  }
  const double each_ms = ms_since(t0) / 20;
  auto s3 = e.stats();
  EXPECT_EQ(s3.iptables_calls, s2.iptables_calls);
  EXPECT_EQ(s3.errors, 0u);

  std::printf("kernel burst: 50 policies -> %zu ipset + %zu iptables-restore calls, %zu set lines, %zu rules, %.0f ms\n",
              s1.ipset_calls - s0.ipset_calls, s1.iptables_calls - s0.iptables_calls, s1.set_lines - s0.set_lines,
              s1.rule_lines - s0.rule_lines, policies_ms);
  std::printf("kernel burst: 500 pod events in one sync -> %zu ipset + %zu iptables-restore calls, %zu set lines, %.0f ms\n",
              s2.ipset_calls - s1.ipset_calls, s2.iptables_calls - s1.iptables_calls, s2.set_lines - s1.set_lines,
              pods_ms);
  std::printf("kernel: one pod relabel on that cluster, synced alone: %.1f ms, %zu ipset calls per event\n", each_ms,
              (s3.ipset_calls - s2.ipset_calls) / 20);

  ASSERT_TRUE(e.stop().ok());
  names = nf.ipset_names();
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
  saved = run_program({"iptables-save", "-t", "filter"}, "");
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(saved->find("WEAVE-NPC"), std::string::npos) << *saved;
}

TEST_F(NpcKernel, AFailedBatchIsRebuiltFromACleanSlate) {
  ProcessNetfilter nf;
  Enforcer e(nf, {}, null_logger());
  ASSERT_TRUE(e.start().ok());
  Cluster c;
  put(c, ns("default"));
  put(c, pod("default", "a", "10.32.0.2", {{"app", "web"}}));
  ASSERT_TRUE(e.sync(c).ok());
  // Someone destroys a set behind npc's back (firewalld reloads do such things): the next diff
  // fails in the kernel, and the Enforcer rebuilds everything.
  ASSERT_TRUE(nf.iptables_restore("*filter\n:WEAVE-NPC-DEFAULT - [0:0]\nCOMMIT\n").ok());
  ASSERT_TRUE(nf.ipset_restore("destroy " + ipset_name("ingress-default-allow:default") + "\n").ok());
  put(c, pod("default", "b", "10.32.0.3", {{"app", "web"}}));
  ASSERT_TRUE(e.sync(c).ok());
  EXPECT_EQ(e.stats().rebuilds, 1u);
  // A flush that no change touches is found by verify().
  ASSERT_TRUE(nf.iptables_restore("*filter\n:WEAVE-NPC-EGRESS-DEFAULT - [0:0]\nCOMMIT\n").ok());
  ASSERT_TRUE(e.verify().ok());
  EXPECT_EQ(e.stats().repairs, 1u);
  auto saved = nf.iptables_save();
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(count_lines(*saved, "-A WEAVE-NPC-EGRESS-DEFAULT"), 2u);
  auto listed = run_program({"ipset", "list", ipset_name("ingress-default-allow:default")}, "");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(count_lines(*listed, "10.32."), 2u);
  ASSERT_TRUE(e.stop().ok());
}

}  // namespace
}  // namespace weft::npc
