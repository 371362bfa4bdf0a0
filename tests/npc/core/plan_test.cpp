// From namespaces, pods and policies to the exact sets and rules of kube spec §4.2-§4.7, including
// the upstream user cases of §7 that concern weave-npc.
#include <gtest/gtest.h>

#include "npc_fixtures.hpp"
#include "weft/npc/plan.hpp"
#include "weft/npc/short_name.hpp"

namespace weft::npc {
namespace {

using namespace testing;  // NOLINT

const std::string kIngressDefault = "weave-;rGqyMIl1HN^cfDki~Z$3]6!N";  // ingress-default-allow:default
const std::string kEgressDefault = "weave-s_+ChJId4Uy_$}G;WdH|~TK)I";   // egress-default-allow:default
const std::string kAllDefault = "weave-k?Z;25^M}|1s7P3|H9i;*;MhG";      // default:
const std::string kNettest = "weave-rX1U0G|rx?p|NpUFs+WcXK9Qc";         // default:run=nettest

std::vector<std::string> entries(const Plan& p, const std::string& set) {
  std::vector<std::string> out;
  auto it = p.sets.find(set);
  if (it == p.sets.end()) return {"<no set " + set + ">"};
  for (const auto& [e, _] : it->second.entries) out.push_back(e);
  return out;
}

Cluster two_pods() {
  Cluster c;
  put(c, ns("default"));
  put(c, pod("default", "a", "10.32.0.2", {{"run", "nettest"}}));
  put(c, pod("default", "b", "10.32.0.3", {{"run", "other"}}));
  return c;
}

TEST(Plan, BaseChainsAsWeaveLaysThemOut) {
  Plan p = compute_plan(Cluster{});
  EXPECT_TRUE(p.sets.empty());
  EXPECT_EQ(p.chains.at("WEAVE-NPC"),
            (std::vector<std::string>{"-m state --state RELATED,ESTABLISHED -j ACCEPT", "-d 224.0.0.0/4 -j ACCEPT",
                                      "-m physdev --physdev-is-bridged --physdev-out vethwe-bridge -j ACCEPT",
                                      "-m state --state NEW -j WEAVE-NPC-DEFAULT",
                                      "-m state --state NEW -j WEAVE-NPC-INGRESS"}));
  EXPECT_EQ(p.chains.at("WEAVE-NPC-EGRESS"),
            (std::vector<std::string>{
                "-m state --state RELATED,ESTABLISHED -j ACCEPT",
                "-m physdev --physdev-is-bridged --physdev-in vethwe-bridge -j RETURN",
                "-m addrtype --dst-type LOCAL -j RETURN", "-d 224.0.0.0/4 -j RETURN",
                "-m state --state NEW -j WEAVE-NPC-EGRESS-DEFAULT",
                "-m state --state NEW -m mark ! --mark 0x40000/0x40000 -j WEAVE-NPC-EGRESS-CUSTOM"}));
  EXPECT_EQ(p.chains.at("WEAVE-NPC-EGRESS-ACCEPT"),
            (std::vector<std::string>{"-j MARK --set-xmark 0x40000/0x40000"}));
  EXPECT_TRUE(p.chains.at("WEAVE-NPC-INGRESS").empty());
  // --allow-mcast=false and another bridge port name.
  Plan q = compute_plan(Cluster{}, {false, "vethwe-x", 1024});
  EXPECT_EQ(q.chains.at("WEAVE-NPC").size(), 4u);
  EXPECT_EQ(q.chains.at("WEAVE-NPC")[1], "-m physdev --physdev-is-bridged --physdev-out vethwe-x -j ACCEPT");
}

TEST(Plan, DefaultAllowWithoutPolicies) {
  Plan p = compute_plan(two_pods());
  EXPECT_EQ(entries(p, kIngressDefault), (std::vector<std::string>{"10.32.0.2", "10.32.0.3"}));
  EXPECT_EQ(entries(p, kEgressDefault), (std::vector<std::string>{"10.32.0.2", "10.32.0.3"}));
  EXPECT_EQ(entries(p, kAllDefault), (std::vector<std::string>{"10.32.0.2", "10.32.0.3"}));
  EXPECT_EQ(p.sets.at(kIngressDefault).type, "hash:ip");
  EXPECT_EQ(p.sets.at(kIngressDefault).entries.at("10.32.0.2"), "namespace: default, pod: a");
  EXPECT_EQ(p.chains.at("WEAVE-NPC-DEFAULT"),
            (std::vector<std::string>{"-m set --match-set " + kIngressDefault +
                                      " dst -m comment --comment \"DefaultAllow ingress isolation for namespace: "
                                      "default\" -j ACCEPT"}));
  const std::string eg = "-m set --match-set " + kEgressDefault +
                         " src -m comment --comment \"DefaultAllow egress isolation for namespace: default\" -j ";
  EXPECT_EQ(p.chains.at("WEAVE-NPC-EGRESS-DEFAULT"),
            (std::vector<std::string>{eg + "WEAVE-NPC-EGRESS-ACCEPT", eg + "RETURN"}));
}

TEST(Plan, SpecExampleIngressFromPodSelectorOnPort) {
  Cluster c = two_pods();
  put(c, policy("default", "np",
                {{"podSelector", {{"matchLabels", {{"run", "nettest"}}}}},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"from", json::array({{{"podSelector", {{"matchLabels", {{"run", "nettest"}}}}}}})},
                                           {"ports", json::array({{{"protocol", "TCP"}, {"port", 8080}}})}}})}}));
  Plan p = compute_plan(c);
  EXPECT_EQ(p.chains.at("WEAVE-NPC-INGRESS"),
            (std::vector<std::string>{
                "-p TCP -m set --match-set " + kNettest + " src -m set --match-set " + kNettest +
                " dst --dport 8080 -m comment --comment \"pods: namespace: default, selector: run=nettest -> pods: "
                "namespace: default, selector: run=nettest (ingress)\" -j ACCEPT"}));
  EXPECT_EQ(entries(p, kNettest), (std::vector<std::string>{"10.32.0.2"}));
  // The target leaves ingress default-allow, not egress default-allow; the other pod stays.
  EXPECT_EQ(entries(p, kIngressDefault), (std::vector<std::string>{"10.32.0.3"}));
  EXPECT_EQ(entries(p, kEgressDefault), (std::vector<std::string>{"10.32.0.2", "10.32.0.3"}));
  EXPECT_EQ(p.chains.at("WEAVE-NPC-EGRESS").size(), 6u);  // no egress policy: no DROP tail
}

TEST(Plan, DenyAllIngressSharesTheAllPodsSet) {
  Cluster c = two_pods();
  put(c, policy("default", "deny", {{"podSelector", json::object()}, {"policyTypes", {"Ingress"}}}));
  Plan p = compute_plan(c);
  EXPECT_TRUE(p.chains.at("WEAVE-NPC-INGRESS").empty());
  EXPECT_TRUE(p.sets.at(kIngressDefault).entries.empty());
  EXPECT_EQ(p.sets.size(), 3u);  // the two default-allow sets and the shared all-pods set
  EXPECT_EQ(entries(p, kAllDefault), (std::vector<std::string>{"10.32.0.2", "10.32.0.3"}));
}

TEST(Plan, EmptyPolicyTypesIsolateNothing) {
  Cluster c = two_pods();
  auto pol = policy("default", "none", {{"podSelector", json::object()}, {"policyTypes", json::array()}});
  put(c, pol);
  Plan p = compute_plan(c);
  EXPECT_EQ(entries(p, kIngressDefault).size(), 2u);
  EXPECT_EQ(entries(p, kEgressDefault).size(), 2u);
}

TEST(Plan, NamespaceSelectorIsAListOfAllPodsSets) {
  Cluster c = two_pods();
  put(c, ns("prod", {{"team", "x"}}));
  put(c, ns("dev", {{"team", "x"}}));
  put(c, ns("other"));
  put(c, pod("prod", "p1", "10.32.1.1", {{"app", "db"}}));
  put(c, pod("dev", "d1", "10.32.2.1", {{"app", "web"}}));
  put(c, policy("default", "from-team",
                {{"podSelector", json::object()},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"from", json::array({{{"namespaceSelector", {{"matchLabels", {{"team", "x"}}}}}},
                                                                 {{"namespaceSelector", {{"matchLabels", {{"team", "x"}}}}},
                                                                  {"podSelector", {{"matchLabels", {{"app", "web"}}}}}}})}}})}}));
  Plan p = compute_plan(c);
  const auto list = ipset_name(":team=x");
  ASSERT_EQ(p.sets.at(list).type, "list:set");
  std::vector<std::string> want{ipset_name("dev:"), ipset_name("prod:")};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(entries(p, list), want);
  EXPECT_EQ(p.sets.at(list).entries.at(ipset_name("prod:")), "namespace: prod");
  const auto both = ipset_name(":team=xapp=web");
  ASSERT_EQ(p.sets.at(both).type, "hash:ip");
  EXPECT_EQ(entries(p, both), (std::vector<std::string>{"10.32.2.1"}));
  const auto& rules = p.chains.at("WEAVE-NPC-INGRESS");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0], "-m set --match-set " + list + " src -m set --match-set " + kAllDefault +
                          " dst -m comment --comment \"namespaces: selector: team=x -> pods: namespace: default, "
                          "selector:  (ingress)\" -j ACCEPT");
  EXPECT_NE(rules[1].find("\"namespaces: selector: team=xapp=web -> "), std::string::npos);
  // An empty podSelector beside the namespaceSelector is the namespace-only peer, not a second set
  // under the same name.
  Cluster d = c;
  put(d, policy("default", "from-team-all",
                {{"podSelector", json::object()},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"from", json::array({{{"namespaceSelector", {{"matchLabels", {{"team", "x"}}}}},
                                                                  {"podSelector", json::object()}}})}}})}}));
  Plan q = compute_plan(d);
  EXPECT_EQ(q.sets.at(list).type, "list:set");
  EXPECT_EQ(q.chains.at("WEAVE-NPC-INGRESS").size(), 2u);  // the same rule text: shared
}

TEST(Plan, IpBlockWithExcept) {
  Cluster c = two_pods();
  put(c, policy("default", "cidr",
                {{"podSelector", {{"matchLabels", {{"run", "nettest"}}}}},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"from", json::array({{{"ipBlock", {{"cidr", "10.0.0.0/8"},
                                                                                {"except", {"10.2.0.0/16", "10.1.0.0/16"}}}}},
                                                                 {{"ipBlock", {{"cidr", "192.168.0.0/16"}}}}})}}})}}));
  Plan p = compute_plan(c);
  const auto except = ipset_name("default:ipblock-except:10.1.0.0/16 10.2.0.0/16");
  ASSERT_EQ(p.sets.at(except).type, "hash:net");
  EXPECT_EQ(entries(p, except), (std::vector<std::string>{"10.1.0.0/16", "10.2.0.0/16"}));
  EXPECT_EQ(p.sets.at(except).entries.at("10.1.0.0/16"), "excepted from 10.0.0.0/8");
  EXPECT_EQ(p.chains.at("WEAVE-NPC-INGRESS"),
            (std::vector<std::string>{
                "-s 10.0.0.0/8 -m set ! --match-set " + except + " src -m set --match-set " + kNettest +
                    " dst -m comment --comment \"cidr: 10.0.0.0/8 except [10.1.0.0/16 10.2.0.0/16] -> pods: namespace: "
                    "default, selector: run=nettest (ingress)\" -j ACCEPT",
                "-s 192.168.0.0/16 -m set --match-set " + kNettest +
                    " dst -m comment --comment \"cidr: 192.168.0.0/16 -> pods: namespace: default, selector: "
                    "run=nettest (ingress)\" -j ACCEPT"}));
}

TEST(Plan, EgressDenyWithDnsAllowed) {
  Cluster c = two_pods();
  put(c, policy("default", "egress-dns",
                {{"podSelector", {{"matchLabels", {{"run", "nettest"}}}}},
                 {"policyTypes", {"Egress"}},
                 {"egress", json::array({{{"ports", json::array({{{"protocol", "UDP"}, {"port", 53}},
                                                                 {{"protocol", "TCP"}, {"port", 53}}})}}})}}));
  Plan p = compute_plan(c);
  const auto& eg = p.chains.at("WEAVE-NPC-EGRESS");
  ASSERT_EQ(eg.size(), 8u);
  EXPECT_EQ(eg[6], "-m state --state NEW -m mark ! --mark 0x40000/0x40000 -j NFLOG --nflog-group 86");
  EXPECT_EQ(eg[7], "-m mark ! --mark 0x40000/0x40000 -j DROP");
  const std::string udp = "-p UDP -m set --match-set " + kNettest +
                          " src --dport 53 -m comment --comment \"pods: namespace: default, selector: run=nettest -> "
                          "anywhere (egress)\" -j ";
  const auto& custom = p.chains.at("WEAVE-NPC-EGRESS-CUSTOM");
  ASSERT_EQ(custom.size(), 4u);
  EXPECT_EQ(custom[0], udp + "WEAVE-NPC-EGRESS-ACCEPT");
  EXPECT_EQ(custom[1], udp + "RETURN");
  EXPECT_EQ(entries(p, kEgressDefault), (std::vector<std::string>{"10.32.0.3"}));
  EXPECT_EQ(entries(p, kIngressDefault).size(), 2u);
}

TEST(Plan, EgressToPodsAndCidrs) {
  Cluster c = two_pods();
  put(c, policy("default", "eg",
                {{"podSelector", {{"matchLabels", {{"run", "nettest"}}}}},
                 {"policyTypes", {"Egress"}},
                 {"egress", json::array({{{"to", json::array({{{"podSelector", {{"matchLabels", {{"run", "other"}}}}}},
                                                               {{"ipBlock", {{"cidr", "0.0.0.0/0"}, {"except", {"10.0.0.0/8"}}}}}})},
                                          {"ports", json::array({{{"port", 80}, {"endPort", 90}}})}}})}}));
  Plan p = compute_plan(c);
  const auto& custom = p.chains.at("WEAVE-NPC-EGRESS-CUSTOM");
  ASSERT_EQ(custom.size(), 4u);
  EXPECT_EQ(custom[0], "-p TCP -m set --match-set " + kNettest + " src -m set --match-set " +
                           ipset_name("default:run=other") +
                           " dst --dport 80:90 -m comment --comment \"pods: namespace: default, selector: run=nettest "
                           "-> pods: namespace: default, selector: run=other (egress)\" -j WEAVE-NPC-EGRESS-ACCEPT");
  EXPECT_EQ(custom[2].substr(0, custom[2].find(" -m comment")),
            "-p TCP -m set --match-set " + kNettest + " src -d 0.0.0.0/0 -m set ! --match-set " +
                ipset_name("default:ipblock-except:10.0.0.0/8") + " dst --dport 80:90");
}

TEST(Plan, NamedPortsResolveFromContainerPorts) {
  // Upstream (§7 item 6): Weave rejected the policy, so its pods stayed open. weft isolates them and
  // opens exactly the ports the pods name.
  Cluster c;
  put(c, ns("default"));
  put(c, pod("default", "web1", "10.32.0.2", {{"app", "web"}}, json::array({{{"name", "http"}, {"containerPort", 8080}}})));
  put(c, pod("default", "web2", "10.32.0.3", {{"app", "web"}}, json::array({{{"name", "http"}, {"containerPort", 9090}}})));
  put(c, pod("default", "dns", "10.32.0.4", {{"app", "dns"}},
             json::array({{{"name", "dns"}, {"containerPort", 53}, {"protocol", "UDP"}}})));
  put(c, policy("default", "named",
                {{"podSelector", {{"matchLabels", {{"app", "web"}}}}},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"ports", json::array({{{"port", "http"}}})}}})}}));
  Plan p = compute_plan(c);
  const auto np = ipset_name("namedport:TCP:http");
  ASSERT_EQ(p.sets.at(np).type, "hash:ip,port");
  EXPECT_EQ(entries(p, np), (std::vector<std::string>{"10.32.0.2,tcp:8080", "10.32.0.3,tcp:9090"}));
  const auto web = ipset_name("default:app=web");
  EXPECT_EQ(p.chains.at("WEAVE-NPC-INGRESS"),
            (std::vector<std::string>{"-p TCP -m set --match-set " + web + " dst -m set --match-set " + np +
                                      " dst,dst -m comment --comment \"anywhere -> pods: namespace: default, selector: "
                                      "app=web (ingress)\" -j ACCEPT"}));
  EXPECT_EQ(entries(p, kIngressDefault), (std::vector<std::string>{"10.32.0.4"}));
  // Egress to a named UDP port resolves on the destination pods.
  put(c, policy("default", "named-eg",
                {{"podSelector", {{"matchLabels", {{"app", "web"}}}}},
                 {"policyTypes", {"Egress"}},
                 {"egress", json::array({{{"ports", json::array({{{"protocol", "UDP"}, {"port", "dns"}}})}}})}}));
  Plan q = compute_plan(c);
  EXPECT_EQ(entries(q, ipset_name("namedport:UDP:dns")), (std::vector<std::string>{"10.32.0.4,udp:53"}));
  EXPECT_NE(q.chains.at("WEAVE-NPC-EGRESS-CUSTOM")[0].find(ipset_name("namedport:UDP:dns") + " dst,dst"),
            std::string::npos);
}

TEST(Plan, IdenticalRulesFromTwoPoliciesAreOneRule) {
  Cluster c = two_pods();
  json spec = {{"podSelector", {{"matchLabels", {{"run", "nettest"}}}}},
               {"policyTypes", {"Ingress"}},
               {"ingress", json::array({{{"ports", json::array({{{"port", 80}}})}}})}};
  put(c, policy("default", "one", spec));
  put(c, policy("default", "two", spec));
  EXPECT_EQ(compute_plan(c).chains.at("WEAVE-NPC-INGRESS").size(), 1u);
}

TEST(Plan, UnionOfPoliciesAndPortWithoutNumber) {
  Cluster c = two_pods();
  put(c, policy("default", "p1",
                {{"podSelector", {{"matchLabels", {{"run", "nettest"}}}}},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"ports", json::array({{{"protocol", "UDP"}}})}}})}}));
  put(c, policy("default", "p2",
                {{"podSelector", json::object()},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"from", json::array({{{"podSelector", json::object()}}})}}})}}));
  Plan p = compute_plan(c);
  const auto& rules = p.chains.at("WEAVE-NPC-INGRESS");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].substr(0, rules[0].find(" -m comment")),
            "-p UDP -m set --match-set " + kNettest + " dst --dport 0:65535");
  EXPECT_EQ(rules[1].substr(0, rules[1].find(" -m comment")),
            "-m set --match-set " + kAllDefault + " src -m set --match-set " + kAllDefault + " dst");
  EXPECT_TRUE(p.sets.at(kIngressDefault).entries.empty());
}

TEST(Plan, PodsWithoutAnIpAreInNoSet) {
  Cluster c = two_pods();
  auto j = pod_json("default", "pending", "", {{"run", "nettest"}});
  j["status"].erase("podIP");
  put(c, *decode_pod(j));
  Plan p = compute_plan(c);
  EXPECT_EQ(entries(p, kAllDefault).size(), 2u);
}

TEST(Plan, ListSetSizeIsBounded) {
  Cluster c;
  for (int i = 0; i < 5; ++i) put(c, ns("n" + std::to_string(i), {{"all", "yes"}}));
  put(c, policy("n0", "p",
                {{"podSelector", json::object()},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"from", json::array({{{"namespaceSelector", json::object()}}})}}})}}));
  Plan p = compute_plan(c, {true, "vethwe-bridge", 3});
  EXPECT_EQ(p.sets.at(ipset_name(":")).entries.size(), 3u);
  EXPECT_EQ(p.sets.at(ipset_name(":")).list_size, 3u);
  EXPECT_EQ(p.notes.size(), 1u);
}

TEST(Plan, LongCommentsAreCutToWhatIptablesKeeps) {
  Cluster c = two_pods();
  json labels = json::object();
  for (int i = 0; i < 20; ++i) labels["label-number-" + std::to_string(i)] = "value-" + std::to_string(i);
  put(c, policy("default", "long",
                {{"podSelector", {{"matchLabels", labels}}},
                 {"policyTypes", {"Ingress"}},
                 {"ingress", json::array({{{"from", json::array({{{"podSelector", {{"matchLabels", labels}}}}})}}})}}));
  const Plan p = compute_plan(c);
  const auto& r = p.chains.at("WEAVE-NPC-INGRESS").at(0);
  const auto start = r.find("--comment \"") + 11;
  EXPECT_EQ(r.find('"', start) - start, 255u);
}

}  // namespace
}  // namespace weft::npc
