// Incremental diffs: an event changes only what it changes.
#include <gtest/gtest.h>

#include <set>

#include "npc_fixtures.hpp"
#include "weft/npc/diff.hpp"
#include "weft/npc/short_name.hpp"

namespace weft::npc {
namespace {

using namespace testing;  // NOLINT

std::set<std::string> lines(const std::string& s) {
  std::set<std::string> out;
  std::size_t b = 0;
  for (std::size_t e; (e = s.find('\n', b)) != std::string::npos; b = e + 1) out.insert(s.substr(b, e - b));
  return out;
}

Cluster base() {
  Cluster c;
  put(c, ns("default"));
  put(c, pod("default", "a", "10.32.0.2", {{"run", "nettest"}}));
  put(c, pod("default", "b", "10.32.0.3", {{"run", "other"}}));
  put(c, policy("default", "np",
                {{"podSelector", {{"matchLabels", {{"run", "nettest"}}}}},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"from", json::array({{{"podSelector", {{"matchLabels", {{"run", "other"}}}}}}})}}})}}));
  return c;
}

TEST(Diff, NothingChangedRendersNothing) {
  Cluster c = base();
  EXPECT_TRUE(diff_plans(compute_plan(c), compute_plan(c)).empty());
}

TEST(Diff, FromScratchCreatesBeforeAddsAndListsLast) {
  Cluster c = base();
  put(c, ns("prod", {{"env", "prod"}}));
  put(c, policy("default", "fromprod",
                {{"podSelector", json::object()},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"from", json::array({{{"namespaceSelector", {{"matchLabels", {{"env", "prod"}}}}}}})}}})}}));
  Scripts s = diff_plans(Plan{}, compute_plan(c));
  const auto& pre = s.ipset_pre;
  EXPECT_LT(pre.rfind("create "), pre.find("add "));
  const auto list = ipset_name(":env=prod");
  EXPECT_NE(pre.find("create " + list + " list:set size 1024 comment\n"), std::string::npos);
  EXPECT_GT(pre.find("add " + list + " "), pre.rfind("add " + ipset_name("default:")));
  EXPECT_NE(pre.find("add " + ipset_name("default:") + " 10.32.0.2 comment \"namespace: default, pod: a\"\n"),
            std::string::npos);
  EXPECT_EQ(s.iptables.rfind("*filter\n", 0), 0u);
  EXPECT_EQ(s.iptables.substr(s.iptables.size() - 7), "COMMIT\n");
  EXPECT_TRUE(s.ipset_post.empty());
  // Without comment support nothing carries one.
  EXPECT_EQ(diff_plans(Plan{}, compute_plan(c), false).ipset_pre.find("comment"), std::string::npos);
}

TEST(Diff, PodAddedTouchesOnlyItsSets) {
  Cluster c = base();
  Plan before = compute_plan(c);
  put(c, pod("default", "c", "10.32.0.4", {{"run", "other"}}));
  Scripts s = diff_plans(before, compute_plan(c));
  EXPECT_TRUE(s.iptables.empty());
  EXPECT_TRUE(s.ipset_post.empty());
  // all-pods, both default-allow sets and the run=other peer set.
  EXPECT_EQ(s.set_lines, 4u);
  EXPECT_NE(s.ipset_pre.find("add " + ipset_name("default:run=other") + " 10.32.0.4 "), std::string::npos);
  EXPECT_NE(s.ipset_pre.find("add " + ipset_name("ingress-default-allow:default") + " 10.32.0.4 "), std::string::npos);
}

TEST(Diff, PodRelabelledMovesBetweenSets) {
  Cluster c = base();
  Plan before = compute_plan(c);
  put(c, pod("default", "b", "10.32.0.3", {{"run", "nettest"}}));  // b becomes a target
  Scripts s = diff_plans(before, compute_plan(c));
  EXPECT_TRUE(s.iptables.empty());
  EXPECT_EQ(lines(s.ipset_pre),
            lines("add " + ipset_name("default:run=nettest") + " 10.32.0.3 comment \"namespace: default, pod: b\"\n" +
                  "del " + ipset_name("default:run=other") + " 10.32.0.3\n" + "del " +
                  ipset_name("ingress-default-allow:default") + " 10.32.0.3\n"));
  EXPECT_EQ(s.ipset_pre.find("add "), 0u);  // adds before deletes
}

TEST(Diff, PolicyDeletedRemovesItsRulesThenItsSets) {
  Cluster c = base();
  Plan before = compute_plan(c);
  c.policies.clear();
  Scripts s = diff_plans(before, compute_plan(c));
  EXPECT_EQ(s.rule_lines, 1u);
  EXPECT_EQ(s.iptables.find("*filter\n-D WEAVE-NPC-INGRESS "), 0u);
  EXPECT_EQ(lines(s.ipset_post), lines("destroy " + ipset_name("default:run=nettest") + "\ndestroy " +
                                        ipset_name("default:run=other") + "\n"));
  EXPECT_NE(s.ipset_pre.find("add " + ipset_name("ingress-default-allow:default") + " 10.32.0.2"), std::string::npos);
}

TEST(Diff, EgressTailFollowsTheEgressPolicies) {
  Cluster c = base();
  Plan before = compute_plan(c);
  put(c, policy("default", "eg", {{"podSelector", json::object()}, {"policyTypes", {"Egress"}}}));
  Plan with = compute_plan(c);
  Scripts s = diff_plans(before, with);
  EXPECT_NE(s.iptables.find("-A WEAVE-NPC-EGRESS -m state --state NEW -m mark ! --mark 0x40000/0x40000 -j NFLOG "
                            "--nflog-group 86\n-A WEAVE-NPC-EGRESS -m mark ! --mark 0x40000/0x40000 -j DROP\n"),
            std::string::npos);
  c.policies.erase("default/eg");
  Scripts back = diff_plans(with, compute_plan(c));
  EXPECT_NE(back.iptables.find("-D WEAVE-NPC-EGRESS -m mark ! --mark 0x40000/0x40000 -j DROP\n"), std::string::npos);
}

TEST(Diff, TeardownAndDestroyScripts) {
  EXPECT_EQ(reset_chains_script().substr(0, 35), "*filter\n:WEAVE-NPC-INGRESS - [0:0]\n");
  const auto t = teardown_chains_script();
  EXPECT_NE(t.find("-X WEAVE-NPC-INGRESS\n"), std::string::npos);
  EXPECT_EQ(t.find("-X WEAVE-NPC\n"), std::string::npos);
  EXPECT_EQ(destroy_sets_script({"weave-a", "weaver-no-masq-local", "weave-b"}),
            "flush weave-a\nflush weave-b\ndestroy weave-a\ndestroy weave-b\n");
}

}  // namespace
}  // namespace weft::npc
