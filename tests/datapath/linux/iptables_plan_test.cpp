// The router's iptables rules as data (spec §11.8 and §6.8, kube-spec §3.8), and the diff that
// turns them into one iptables-restore batch. The expected rule texts are copied from the specs.
#include "weft/datapath/linux/iptables_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace weft::datapath::host {
namespace {

std::vector<std::string> texts(const std::vector<IptRule>& rules, const std::string& table, const std::string& chain) {
  std::vector<std::string> out;
  for (const auto& r : rules) {
    if (r.table == table && r.chain == chain) out.push_back(r.spec);
  }
  return out;
}

RouterRulesConfig docker_cfg() {
  RouterRulesConfig c;
  c.docker_bridge = "docker0";
  c.docker_bridge_ip = Ipv4::parse("172.17.0.1");
  c.control_port = 6784;
  return c;
}

TEST(IptablesPlan, ForwardWithoutNpcIsSpec118) {
  auto p = router_rules(docker_cfg());
  EXPECT_EQ(texts(p.top, "filter", "FORWARD"), (std::vector<std::string>{
                                                   "-i docker0 -o weave -j DROP",
                                                   "-i weave -o weave -j ACCEPT",
                                                   "-o weave -j WEAVE-EXPOSE",
                                                   "-i weave ! -o weave -j ACCEPT",
                                                   "-o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                                               }));
  EXPECT_TRUE(texts(p.append, "filter", "FORWARD").empty());
  EXPECT_NE(std::find(p.chains.begin(), p.chains.end(), IptChain{"filter", "WEAVE-EXPOSE", ChainOwner::weft}),
            p.chains.end());
}

TEST(IptablesPlan, ForwardWithNpcIsKubeSpec38) {
  RouterRulesConfig c;  // Kubernetes: --expect-npc --no-masq-local, no --docker-bridge
  c.expect_npc = true;
  c.no_masq_local = true;
  c.control_port = 6784;
  auto p = router_rules(c);
  EXPECT_EQ(texts(p.top, "filter", "FORWARD"),
            (std::vector<std::string>{
                "-i weave -m comment --comment \"NOTE: this must go before '-j KUBE-FORWARD'\" -j WEAVE-NPC-EGRESS",
                "-o weave -m comment --comment \"NOTE: this must go before '-j KUBE-FORWARD'\" -j WEAVE-NPC",
                "-o weave -m state --state NEW -j NFLOG --nflog-group 86",
                "-o weave -j DROP",
                "-i weave ! -o weave -j ACCEPT",
                "-o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            }));
  EXPECT_EQ(texts(p.append, "filter", "INPUT"),
            (std::vector<std::string>{
                "-p tcp --dst 127.0.0.1 --dport 6784 -m addrtype ! --src-type LOCAL -m conntrack ! --ctstate "
                "RELATED,ESTABLISHED -m comment --comment \"Block non-local access to Weave Net control port\" -j DROP",
                "-i weave -j WEAVE-NPC-EGRESS",
            }));
  EXPECT_EQ(texts(p.top, "nat", "WEAVE"),
            (std::vector<std::string>{"-m set --match-set weaver-no-masq-local dst -m comment --comment \"Prevent SNAT "
                                      "to locally running containers\" -j RETURN"}));
  EXPECT_EQ(texts(p.append, "nat", "POSTROUTING"), (std::vector<std::string>{"-j WEAVE"}));
  for (const auto& ch : p.chains) EXPECT_NE(ch.name, "WEAVE-EXPOSE") << "no WEAVE-EXPOSE in NPC mode";
  EXPECT_NE(std::find(p.chains.begin(), p.chains.end(), IptChain{"filter", "WEAVE-NPC", ChainOwner::npc}),
            p.chains.end());
}

TEST(IptablesPlan, InputRulesForDockerBridge) {
  auto p = router_rules(docker_cfg());
  EXPECT_EQ(texts(p.append, "filter", "INPUT"),
            (std::vector<std::string>{
                "-i docker0 -p tcp --dst 172.17.0.1 --dport 6783 -j DROP",
                "-i docker0 -p udp --dst 172.17.0.1 --dport 6783 -j DROP",
                "-i docker0 -p udp --dst 172.17.0.1 --dport 6784 -j DROP",
                "-i docker0 -p udp --dport 53 -j ACCEPT",
                "-i docker0 -p tcp --dport 53 -j ACCEPT",
                "-p tcp --dst 127.0.0.1 --dport 6784 -m addrtype ! --src-type LOCAL -m conntrack ! --ctstate "
                "RELATED,ESTABLISHED -m comment --comment \"Block non-local access to Weave Net control port\" -j DROP",
            }));
  auto no_ip = docker_cfg();
  no_ip.docker_bridge_ip.reset();
  EXPECT_EQ(texts(router_rules(no_ip).append, "filter", "INPUT").size(), 3u);
}

TEST(IptablesPlan, ExposeRulesAreSpec68) {
  auto cidr = *Cidr::parse("10.32.0.5/12");
  auto p = expose_rules(docker_cfg(), cidr, true);
  EXPECT_EQ(texts(p.append, "nat", "WEAVE"), (std::vector<std::string>{
                                                 "-s 10.32.0.0/12 -d 224.0.0.0/4 -j RETURN",
                                                 "! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE",
                                                 "-s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE",
                                             }));
  EXPECT_EQ(texts(p.append, "filter", "WEAVE-EXPOSE"), (std::vector<std::string>{"-d 10.32.0.0/12 -j ACCEPT"}));
  EXPECT_TRUE(p.chains.empty()) << "expose must not own (and so flush on hide) the chains";
  auto skip = expose_rules(docker_cfg(), cidr, false);
  EXPECT_TRUE(texts(skip.append, "nat", "WEAVE").empty());
  auto npc = docker_cfg();
  npc.expect_npc = true;
  EXPECT_TRUE(texts(expose_rules(npc, cidr, true).append, "filter", "WEAVE-EXPOSE").empty());
}

TEST(IptablesPlan, CanonicalFormMatchesIptablesSave) {
  EXPECT_EQ(canonical_rule("-i docker0 -p tcp --dst 172.17.0.1 --dport 6783 -j DROP"),
            canonical_rule("-d 172.17.0.1/32 -i docker0 -p tcp -m tcp --dport 6783 -j DROP"));
  EXPECT_EQ(canonical_rule("! -s 10.32.0.5/12 -d 10.32.0.0/12 -j MASQUERADE"),
            canonical_rule("! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE"));
  EXPECT_EQ(canonical_rule("-i weave -m comment --comment \"NOTE: this must go before '-j KUBE-FORWARD'\" -j WEAVE-NPC"),
            canonical_rule("-i weave -m comment --comment \"NOTE: this must go before \\'-j KUBE-FORWARD\\'\" -j WEAVE-NPC"));
  // Differences that matter stay differences.
  EXPECT_NE(canonical_rule("-s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE"),
            canonical_rule("! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE"));
  EXPECT_NE(canonical_rule("-i weave -o weave -j ACCEPT"), canonical_rule("-i weave ! -o weave -j ACCEPT"));
  EXPECT_NE(canonical_rule("-p udp --dport 53 -j ACCEPT"), canonical_rule("-p tcp --dport 53 -j ACCEPT"));
  EXPECT_EQ(canonical_rule("-m comment --comment \"unbalanced"), "");
}

// What `iptables-save` (1.8.9, nf_tables) printed after the spec's rules were loaded in a netns.
constexpr std::string_view kSaved = R"(# Generated by iptables-save v1.8.9 (nf_tables) on Wed Dec  2 10:19:10 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:WEAVE-EXPOSE - [0:0]
-A INPUT -d 172.17.0.1/32 -i docker0 -p tcp -m tcp --dport 6783 -j DROP
-A INPUT -d 172.17.0.1/32 -i docker0 -p udp -m udp --dport 6783 -j DROP
-A INPUT -d 172.17.0.1/32 -i docker0 -p udp -m udp --dport 6784 -j DROP
-A INPUT -i docker0 -p udp -m udp --dport 53 -j ACCEPT
-A INPUT -i docker0 -p tcp -m tcp --dport 53 -j ACCEPT
-A INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 6784 -m addrtype ! --src-type LOCAL -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment "Block non-local access to Weave Net control port" -j DROP
-A FORWARD -i docker0 -o weave -j DROP
-A FORWARD -i weave -o weave -j ACCEPT
-A FORWARD -o weave -j WEAVE-EXPOSE
-A FORWARD -i weave ! -o weave -j ACCEPT
-A FORWARD -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -j DOCKER-ISH
-A WEAVE-EXPOSE -d 10.32.0.0/12 -j ACCEPT
COMMIT
# Completed on Wed Dec  2 10:19:10 2026
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:WEAVE - [0:0]
-A POSTROUTING -j WEAVE
-A WEAVE -s 10.32.0.0/12 -d 224.0.0.0/4 -j RETURN
-A WEAVE ! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE
-A WEAVE -s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE
COMMIT
)";

TEST(IptablesPlan, ParseSave) {
  auto t = parse_save(kSaved);
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->count("filter"), 1u);
  EXPECT_TRUE(t->at("filter").has_chain("WEAVE-EXPOSE"));
  EXPECT_EQ(t->at("filter").raw.at("FORWARD").size(), 6u);
  EXPECT_EQ(t->at("nat").raw.at("WEAVE")[1], "! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE");
  EXPECT_FALSE(parse_save("-A FORWARD -j ACCEPT\n")) << "a rule outside a table";
  EXPECT_FALSE(parse_save("*filter\nbogus\nCOMMIT\n"));
}

TEST(IptablesPlan, ApplyOnEmptyTablesCreatesEverythingInOrder) {
  auto plan = router_rules(docker_cfg());
  plan.merge(expose_rules(docker_cfg(), *Cidr::parse("10.32.0.1/12"), true));
  auto batch = apply_batch(plan, {});
  EXPECT_EQ(batch,
            "*filter\n"
            ":WEAVE-EXPOSE - [0:0]\n"
            "-I FORWARD 1 -i docker0 -o weave -j DROP\n"
            "-I FORWARD 2 -i weave -o weave -j ACCEPT\n"
            "-I FORWARD 3 -o weave -j WEAVE-EXPOSE\n"
            "-I FORWARD 4 -i weave ! -o weave -j ACCEPT\n"
            "-I FORWARD 5 -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
            "-A INPUT -i docker0 -p tcp --dst 172.17.0.1 --dport 6783 -j DROP\n"
            "-A INPUT -i docker0 -p udp --dst 172.17.0.1 --dport 6783 -j DROP\n"
            "-A INPUT -i docker0 -p udp --dst 172.17.0.1 --dport 6784 -j DROP\n"
            "-A INPUT -i docker0 -p udp --dport 53 -j ACCEPT\n"
            "-A INPUT -i docker0 -p tcp --dport 53 -j ACCEPT\n"
            "-A INPUT -p tcp --dst 127.0.0.1 --dport 6784 -m addrtype ! --src-type LOCAL -m conntrack ! --ctstate "
            "RELATED,ESTABLISHED -m comment --comment \"Block non-local access to Weave Net control port\" -j DROP\n"
            "-A WEAVE-EXPOSE -d 10.32.0.0/12 -j ACCEPT\n"
            "COMMIT\n"
            "*nat\n"
            ":WEAVE - [0:0]\n"
            "-A POSTROUTING -j WEAVE\n"
            "-A WEAVE -s 10.32.0.0/12 -d 224.0.0.0/4 -j RETURN\n"
            "-A WEAVE ! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE\n"
            "-A WEAVE -s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE\n"
            "COMMIT\n");
}

TEST(IptablesPlan, ApplyIsIdempotent) {
  auto plan = router_rules(docker_cfg());
  plan.merge(expose_rules(docker_cfg(), *Cidr::parse("10.32.0.1/12"), true));
  auto saved = parse_save(kSaved);
  ASSERT_TRUE(saved);
  EXPECT_EQ(apply_batch(plan, *saved), "");
}

TEST(IptablesPlan, ApplyRepositionsABrokenTopBlock) {
  auto saved = parse_save(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:WEAVE-EXPOSE - [0:0]\n"
      "-A FORWARD -j DOCKER-USER\n"
      "-A FORWARD -i weave -o weave -j ACCEPT\n"
      "-A FORWARD -o weave -j WEAVE-EXPOSE\n"
      "-A FORWARD -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
      "COMMIT\n");
  ASSERT_TRUE(saved);
  RouterRulesConfig c;  // no docker bridge rules
  auto plan = router_rules(c);
  plan.append.clear();
  plan.chains.clear();
  EXPECT_EQ(apply_batch(plan, *saved),
            "*filter\n"
            "-D FORWARD -i weave -o weave -j ACCEPT\n"
            "-D FORWARD -o weave -j WEAVE-EXPOSE\n"
            "-D FORWARD -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
            "-I FORWARD 1 -i weave -o weave -j ACCEPT\n"
            "-I FORWARD 2 -o weave -j WEAVE-EXPOSE\n"
            "-I FORWARD 3 -i weave ! -o weave -j ACCEPT\n"
            "-I FORWARD 4 -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
            "COMMIT\n");
}

TEST(IptablesPlan, RemoveTakesAwayExactlyWhatWasAdded) {
  auto saved = parse_save(kSaved);
  ASSERT_TRUE(saved);
  auto batch = remove_batch(router_rules(docker_cfg()), *saved);
  EXPECT_EQ(batch,
            "*filter\n"
            "-D FORWARD -i docker0 -o weave -j DROP\n"
            "-D FORWARD -i weave -o weave -j ACCEPT\n"
            "-D FORWARD -o weave -j WEAVE-EXPOSE\n"
            "-D FORWARD -i weave ! -o weave -j ACCEPT\n"
            "-D FORWARD -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
            "-D INPUT -i docker0 -p tcp --dst 172.17.0.1 --dport 6783 -j DROP\n"
            "-D INPUT -i docker0 -p udp --dst 172.17.0.1 --dport 6783 -j DROP\n"
            "-D INPUT -i docker0 -p udp --dst 172.17.0.1 --dport 6784 -j DROP\n"
            "-D INPUT -i docker0 -p udp --dport 53 -j ACCEPT\n"
            "-D INPUT -i docker0 -p tcp --dport 53 -j ACCEPT\n"
            "-D INPUT -p tcp --dst 127.0.0.1 --dport 6784 -m addrtype ! --src-type LOCAL -m conntrack ! --ctstate "
            "RELATED,ESTABLISHED -m comment --comment \"Block non-local access to Weave Net control port\" -j DROP\n"
            "-F WEAVE-EXPOSE\n"
            "-X WEAVE-EXPOSE\n"
            "COMMIT\n"
            "*nat\n"
            "-D POSTROUTING -j WEAVE\n"
            "-F WEAVE\n"
            "-X WEAVE\n"
            "COMMIT\n");
  // The foreign rule (-j DOCKER-ISH) is left alone; removing from clean tables is a no-op.
  EXPECT_EQ(batch.find("DOCKER-ISH"), std::string::npos);
  EXPECT_EQ(remove_batch(router_rules(docker_cfg()), {}), "");
}

TEST(IptablesPlan, HideRemovesOnlyThatSubnetsRules) {
  auto saved = parse_save(kSaved);
  ASSERT_TRUE(saved);
  EXPECT_EQ(remove_batch(expose_rules(docker_cfg(), *Cidr::parse("10.32.0.9/12"), true), *saved),
            "*nat\n"
            "-D WEAVE -s 10.32.0.0/12 -d 224.0.0.0/4 -j RETURN\n"
            "-D WEAVE ! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE\n"
            "-D WEAVE -s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE\n"
            "COMMIT\n"
            "*filter\n"
            "-D WEAVE-EXPOSE -d 10.32.0.0/12 -j ACCEPT\n"
            "COMMIT\n");
  EXPECT_EQ(remove_batch(expose_rules(docker_cfg(), *Cidr::parse("10.40.0.1/16"), true), *saved), "");
}

TEST(IptablesPlan, ResetLeavesNpcChainsThatWeaveNpcFilled) {
  auto saved = parse_save(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:WEAVE-NPC - [0:0]\n:WEAVE-NPC-EGRESS - [0:0]\n"
      "-A INPUT -i weave -j WEAVE-NPC-EGRESS\n"
      "-A FORWARD -o weave -m comment --comment \"NOTE: this must go before \\'-j KUBE-FORWARD\\'\" -j WEAVE-NPC\n"
      "-A FORWARD -i weave -m comment --comment \"NOTE: this must go before \\'-j KUBE-FORWARD\\'\" -j WEAVE-NPC-EGRESS\n"
      "-A WEAVE-NPC -m state --state RELATED,ESTABLISHED -j ACCEPT\n"
      "COMMIT\n");
  ASSERT_TRUE(saved);
  auto batch = remove_batch(reset_rules(RouterRulesConfig{}), *saved);
  EXPECT_NE(batch.find("-X WEAVE-NPC-EGRESS\n"), std::string::npos) << batch;
  EXPECT_EQ(batch.find("-X WEAVE-NPC\n"), std::string::npos) << batch;
  EXPECT_NE(batch.find("-D INPUT -i weave -j WEAVE-NPC-EGRESS\n"), std::string::npos) << batch;
}

TEST(IptablesPlan, RangeCidrs) {
  auto strs = [](const std::vector<Cidr>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(c.str());
    return out;
  };
  EXPECT_EQ(strs(range_cidrs(Ipv4Range::of(*Cidr::parse("10.32.0.0/12")))), (std::vector<std::string>{"10.32.0.0/12"}));
  EXPECT_EQ(strs(range_cidrs(*Ipv4Range::parse("10.32.0.1-10.32.0.6"))),
            (std::vector<std::string>{"10.32.0.1/32", "10.32.0.2/31", "10.32.0.4/31", "10.32.0.6/32"}));
  EXPECT_EQ(strs(range_cidrs(Ipv4Range(0, std::uint64_t{1} << 32))), (std::vector<std::string>{"0.0.0.0/0"}));
  EXPECT_TRUE(range_cidrs(Ipv4Range(5, 5)).empty());
}

}  // namespace
}  // namespace weft::datapath::host
