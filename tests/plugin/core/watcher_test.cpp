// The plugin watcher's policy (plugin/core watcher.hpp): which endpoints get weaveDNS names and
// when the ARP announce runs, as an attach request; carried out here by the fake attach host.
#include <gtest/gtest.h>

#include "../../attach/core/fake_attach_host.hpp"
#include "weft/plugin/watcher.hpp"

namespace weft::plugin {
namespace {

using Json = nlohmann::json;

Json container() {
  return Json::parse(R"({"Id":"c1","Name":"/web","State":{"Pid":77},
    "Config":{"Hostname":"h","Domainname":"example.com"},
    "NetworkSettings":{"Networks":{
      "bridge":{"NetworkID":"nb","IPAddress":"172.17.0.2"},
      "mynet":{"NetworkID":"nw","IPAddress":"10.32.0.5","Aliases":["db","x1",3]},
      "noip":{"NetworkID":"nx","IPAddress":""}}}})");
}

TEST(PluginWatcher, NetworksWithAnAddressAreLookedUp) {
  EXPECT_EQ(watched_networks(container()), (std::vector<std::string>{"nb", "nw"}));
  EXPECT_TRUE(watched_networks(Json::parse(R"({"NetworkSettings":7})")).empty());
}

TEST(PluginWatcher, NamesOnWeaveNetworksOnlyAndTheAnnounce) {
  auto rq = watch_request(container(), "c1full", {{"nb", "bridge"}, {"nw", "weavemesh"}}, "weave.local.");
  ASSERT_TRUE(rq);
  auto ip = *Ipv4::parse("10.32.0.5");
  EXPECT_EQ(rq->names,
            (std::vector<attach::DnsName>{{"h.example.com", ip}, {"web.weave.local", ip}, {"db", ip}, {"x1", ip}}));
  EXPECT_EQ(rq->announce_prefix, "ethwe");
  EXPECT_FALSE(rq->veth);
  EXPECT_TRUE(rq->specs.empty());
  // Carried out: the announce first, then the names for the container's ID; nothing else.
  attach::FakeAttachHost h;
  auto out = attach::execute(attach::plan(*rq), h);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(h.calls, (std::vector<std::string>{
                         "announce ethwe",
                         "dns c1full h.example.com=10.32.0.5 web.weave.local=10.32.0.5 db=10.32.0.5 x1=10.32.0.5"}));
}

TEST(PluginWatcher, NothingForOtherDriversOrUnknownNetworks) {
  EXPECT_FALSE(watch_request(container(), "c1", {{"nb", "bridge"}}, "weave.local"));
  EXPECT_FALSE(watch_request(container(), "c1", {}, "weave.local"));
  EXPECT_FALSE(watch_request(Json::parse("{}"), "c1", {}, "weave.local"));
}

TEST(PluginWatcher, NoPidNoAnnounce) {
  Json c = container();
  c["State"]["Pid"] = 0;
  auto rq = watch_request(c, "c1", {{"nw", "weave"}}, "weave.local");
  ASSERT_TRUE(rq);
  EXPECT_EQ(rq->announce_prefix, "");
  c["Config"]["Domainname"] = "";
  EXPECT_EQ(watch_request(c, "c1", {{"nw", "weave"}}, "weave.local")->names.size(), 3u);
}

}  // namespace
}  // namespace weft::plugin
