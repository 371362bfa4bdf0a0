#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "weft/router/status.hpp"

namespace weft::router {
namespace {

WeaveStatus sample() {
  WeaveStatus s;
  s.version = "weft-test";
  auto& r = s.router;
  r.name = *PeerName::parse("aa:bb:cc:dd:ee:01");
  r.nickname = "hostA";
  r.protocol_min = 1;
  r.protocol_max = 2;
  r.encryption = true;
  PeerName b = *PeerName::parse("aa:bb:cc:dd:ee:02");
  r.peers = {{r.name, "hostA", 1, 1, 3, {{b, "hostB", "192.168.77.2:6783", true, true}}},
             {b, "hostB", 2, 2, 4, {{r.name, "hostA", "192.168.77.1:41234", false, true}}}};
  r.connections = {{"192.168.77.2:6783", true, "established", "encrypted   sleeve aa:bb:cc:dd:ee:02(hostB)",
                    {{"encrypted", "true"}, {"mtu", "1414"}, {"name", "sleeve"}}},
                   {"192.168.77.9:6783", true, "failed", "dial tcp: refused, retry: x", {}}};
  r.targets = {"192.168.77.2"};
  r.unicast_routes = {{b, b}};
  r.broadcast_routes = {{r.name, {b}}, {b, {}}};
  return s;
}

TEST(Status, DatapathBackendIsShown) {
  auto s = sample();
  s.router.interface = "vethwe-pcap (via pcap)";
  auto text = format_status(s);
  EXPECT_NE(text.find("     Encryption: enabled\n       Datapath: vethwe-pcap (via pcap)\n"), std::string::npos) << text;
}

TEST(Status, TextPageMatchesWeaveLayout) {
  auto text = format_status(sample());
  EXPECT_NE(text.find("        Version: weft-test (version check update disabled)\n"), std::string::npos);
  EXPECT_NE(text.find("        Service: router\n"), std::string::npos);
  EXPECT_NE(text.find("       Protocol: weave 1..2\n"), std::string::npos);
  EXPECT_NE(text.find("           Name: aa:bb:cc:dd:ee:01(hostA)\n"), std::string::npos);
  EXPECT_NE(text.find("     Encryption: enabled\n"), std::string::npos);
  EXPECT_EQ(text.find("Datapath:"), std::string::npos);  // no datapath: no line
  EXPECT_NE(text.find("        Targets: 1\n"), std::string::npos);
  EXPECT_NE(text.find("    Connections: 2 (1 established, 1 failed)\n"), std::string::npos);
  EXPECT_NE(text.find("          Peers: 2 (with 2 established connections)\n"), std::string::npos);
  EXPECT_NE(text.find(" TrustedSubnets: none\n"), std::string::npos);
}

// Issue 18, item 9: attributes ran together ("mtu=1438weftx=plain").
TEST(Status, ConnectionAttributesAreSeparated) {
  auto s = sample();
  s.router.connections = {{"10.0.0.2:6783", true, "established", "sleeve x", {{"mtu", "1438"}, {"name", "sleeve"}, {"weftx", "plain"}}}};
  EXPECT_EQ(format_status_connections(s.router), "-> 10.0.0.2:6783         established sleeve x mtu=1438 weftx=plain\n");
}

TEST(Status, SubPages) {
  auto s = sample();
  EXPECT_EQ(format_status_connections(s.router),
            "-> 192.168.77.2:6783     established encrypted   sleeve aa:bb:cc:dd:ee:02(hostB) encrypted=true mtu=1414\n"
            "-> 192.168.77.9:6783     failed      dial tcp: refused, retry: x\n");
  EXPECT_EQ(format_status_peers(s.router).substr(0, 25), "aa:bb:cc:dd:ee:01(hostA)\n");
  EXPECT_NE(format_status_peers(s.router).find("   -> 192.168.77.2:6783     aa:bb:cc:dd:ee:02(hostB)              established\n"),
            std::string::npos);
  EXPECT_EQ(format_status_targets(s.router), "192.168.77.2\n");
}

// Issue 19: a target that cannot be reached says why in `weave status targets`.
TEST(Status, TargetsShowDialFailures) {
  auto s = sample();
  s.router.targets.push_back("192.168.77.9");
  s.router.target_failures.push_back({"192.168.77.9", true, 3, "dial tcp 192.168.77.9:6783: connect: No route to host", "x"});
  s.router.target_failures.push_back({"10.0.0.5:6783", false, 1, "dial tcp 10.0.0.5:6783: connect: i/o timeout", ""});
  EXPECT_EQ(format_status_targets(s.router),
            "192.168.77.2\n"
            "192.168.77.9  failed 3 times: dial tcp 192.168.77.9:6783: connect: No route to host, retry: x\n"
            "10.0.0.5:6783 (discovered)  failed 1 time: dial tcp 10.0.0.5:6783: connect: i/o timeout\n");
  // The summary still counts the direct targets only.
  EXPECT_NE(format_status(s).find("        Targets: 2\n"), std::string::npos);
}

TEST(Status, ReportJsonShape) {
  auto j = nlohmann::json::parse(format_report_json(sample()));
  EXPECT_EQ(j["Router"]["Name"], "aa:bb:cc:dd:ee:01");
  EXPECT_EQ(j["Router"]["Peers"].size(), 2u);
  EXPECT_EQ(j["Router"]["UnicastRoutes"][0]["Via"], "aa:bb:cc:dd:ee:02");
  EXPECT_TRUE(j["Router"]["BroadcastRoutes"][1]["Via"].is_null());
  EXPECT_EQ(j["Router"]["Connections"][0]["Attrs"]["mtu"], 1414);
  EXPECT_EQ(j["Router"]["Connections"][0]["Attrs"]["encrypted"], true);
  EXPECT_TRUE(j["Ready"].get<bool>());
  EXPECT_NE(format_report_json(sample()).find("\n    \"Version\""), std::string::npos);  // 4-space indent
}

// Issue 17: the renderers were split into small functions with byte-identical output. The golden
// files (tests/fixtures/status/) were written by the renderers before the split (main 1c696c0);
// WEFT_UPDATE_GOLDEN=1 rewrites them, for a deliberate format change only.
WeaveStatus rich() {
  auto s = sample();
  s.ready = false;
  auto& r = s.router;
  PeerName b = *PeerName::parse("aa:bb:cc:dd:ee:02");
  PeerName c = *PeerName::parse("aa:bb:cc:dd:ee:03");
  r.port = 6783;
  r.peer_discovery = false;
  r.overlays = {"fastdp", "sleeve"};
  r.interface = "vethwe-pcap (via afpacket) + fastdp (eBPF, VXLAN)";
  r.termination_count = 7;
  r.trusted_subnets = {"10.0.0.0/8", "192.168.0.0/16"};
  r.peers.push_back({c, "hostC", 3, 0xfff, 9, {}});
  r.connections.push_back(
      {"192.168.77.3:6783",
       false,
       "pending",
       "fastdp aa:bb:cc:dd:ee:03(hostC)",
       {{"mtu", "1376"}, {"name", "fastdp"}, {"weftx", "aes256gcm"}, {"odd", "12ab"}, {"flag", "false"}}});
  r.connections.push_back({"192.168.77.4:6783", true, "retrying", "dial tcp: timeout", {}});
  r.connections.push_back({"192.168.77.5:6783", true, "connecting", "", {}});
  r.connections.push_back({"192.168.77.6:6783", true, "waiting", "until: x", {}});
  r.unicast_routes.push_back({c, b});
  r.broadcast_routes.push_back({c, {b, c}});
  r.target_failures.push_back({"192.168.77.9", true, 2, "dial tcp: refused", "x"});
  r.peer_traffic = {{b, 1, 2, 3, 4}, {c, 5, 6, 7, 8}};
  r.datapath_counters = {{"sleeve_rx_frames", 10}, {"fastdp_tx_frames", 3}};
  r.gossip_bytes_sent = 1234;
  r.gossip_bytes_received = 5678;
  IpamSummary i;
  i.status = "ready";
  i.range = "10.32.0.0/12";
  i.range_num_ips = 1048576;
  i.active_ips = 3;
  i.default_subnet = "10.32.0.0/12";
  i.paxos = std::make_tuple(true, std::size_t{2}, std::uint32_t{2});
  i.entries = {{"10.32.0.0", 524288, r.name, "hostA", true, 3}, {"10.40.0.0", 524288, c, "hostC", false, 1}};
  i.pending_claims = {{"abc123", "10.32.0.5/12"}};
  i.pending_allocates = {"def456"};
  i.unreachable_ips = 524288;
  s.ipam = i;
  DnsStatus d;
  d.domain = "weave.local.";
  d.upstream = {"8.8.8.8", "1.1.1.1"};
  d.address = "172.17.0.1:53";
  d.ttl = 1;
  d.live_entries = 2;
  d.own_live_entries = 1;
  d.entries = {{"web.weave.local.", r.name, "c0ffee", "10.32.0.1", 1, 0},
               {"db.weave.local.", b, "beef", "10.32.0.2", 2, 1700000000}};
  s.dns = d;
  return s;
}

std::string golden(const std::string& name, const std::string& actual) {
  auto path = std::string(WEFT_SOURCE_DIR) + "/tests/fixtures/status/" + name;
  if (std::getenv("WEFT_UPDATE_GOLDEN")) std::ofstream(path, std::ios::binary) << actual;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing golden file " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Status, GoldenRenderings) {
  const std::vector<std::pair<std::string, WeaveStatus>> cases = {
      {"empty", WeaveStatus{}}, {"sample", sample()}, {"rich", rich()}};
  for (const auto& [name, s] : cases) {
    EXPECT_EQ(format_status(s), golden(name + ".status.txt", format_status(s))) << name;
    EXPECT_EQ(format_report_json(s), golden(name + ".report.json", format_report_json(s))) << name;
    EXPECT_EQ(format_metrics(s), golden(name + ".metrics.txt", format_metrics(s))) << name;
    EXPECT_EQ(format_status_connections(s.router),
              golden(name + ".connections.txt", format_status_connections(s.router)));
    EXPECT_EQ(format_status_targets(s.router), golden(name + ".targets.txt", format_status_targets(s.router)));
  }
}

// A numeric-looking attribute too big for 64 bits stays a string (it used to throw from stoull).
TEST(Status, ReportHugeNumericAttributeIsAString) {
  auto s = sample();
  s.router.connections[0].attrs = {{"mtu", "123456789012345678901234567890"}};
  auto j = nlohmann::json::parse(format_report_json(s));
  EXPECT_EQ(j["Router"]["Connections"][0]["Attrs"]["mtu"], "123456789012345678901234567890");
}

TEST(Status, Metrics) {
  auto m = format_metrics(sample());
  EXPECT_NE(m.find("weave_connections{encryption=\"yes\",state=\"established\",type=\"sleeve\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("weave_connection_terminations_total 0\n"), std::string::npos);
}

}  // namespace
}  // namespace weft::router
