// Unit tests of weft::plugin_core: every route's exact answer bytes (spec §9), errors, network
// options, IPAM pool IDs and address calls, with the fakes of fakes.hpp.
#include <gtest/gtest.h>

#include <random>

#include "fakes.hpp"
#include "weft/plugin/driver.hpp"
#include "weft/plugin/go_json.hpp"

namespace weft::plugin {
namespace {

constexpr std::string_view kEp = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class DriverTest : public ::testing::Test {
 protected:
  FakeRouterApi router;
  FakeDockerApi docker;
  FakeLinks links;
  Driver mesh{DriverConfig::mesh(), router, &docker, links, null_logger()};
  Driver legacy{DriverConfig::plugin(), router, &docker, links, null_logger()};

  PluginReply post(std::string_view path, std::string_view body) { return mesh.handle(path, body); }
  static PluginReply ok(std::string body) { return {200, std::move(body) + "\n"}; }
  static PluginReply err(std::string body) { return {500, std::move(body) + "\n"}; }
  static PluginReply bad(std::string body) { return {400, std::move(body) + "\n"}; }

  void create_network(std::string_view id, std::string_view generic_options) {
    auto body = fmt::format(R"({{"NetworkID":"{}","Options":{{"com.docker.network.generic":{}}},"IPv4Data":[]}})", id,
                            generic_options);
    ASSERT_EQ(post("/NetworkDriver.CreateNetwork", body), ok("{}"));
  }
  PluginReply join(std::string_view net, std::string_view ep = kEp) {
    return post("/NetworkDriver.Join",
                fmt::format(R"({{"NetworkID":"{}","EndpointID":"{}","SandboxKey":"/var/run/docker/netns/x","Options":{{}}}})",
                            net, ep));
  }
  static std::string join_answer(bool multicast, bool disable_gw, std::string_view ep = kEp) {
    return fmt::format(
        R"({{"Err":"","InterfaceName":{{"SrcName":"vethwg{}","DstName":"","DstPrefix":"ethwe"}},"Gateway":"","GatewayIPv6":"","StaticRoutes":{},"DisableGatewayService":{}}})",
        ep.substr(0, 9),
        multicast ? R"([{"Destination":"224.0.0.0/4","RouteType":1,"NextHop":""}])" : "null",
        disable_gw ? "true" : "false");
  }
};

// ---- handshake, capabilities, routing

TEST_F(DriverTest, ActivateAnnouncesTheDriversOfEachSocket) {
  EXPECT_EQ(post("/Plugin.Activate", ""), ok(R"({"Implements":["NetworkDriver","IpamDriver"]})"));
  EXPECT_EQ(legacy.handle("/Plugin.Activate", "{}"), ok(R"({"Implements":["NetworkDriver"]})"));
}

TEST_F(DriverTest, GetCapabilitiesScopeIsLocalOnMeshGlobalOnLegacy) {
  EXPECT_EQ(post("/NetworkDriver.GetCapabilities", ""), ok(R"({"Err":"","Scope":"local","ConnectivityScope":""})"));
  EXPECT_EQ(legacy.handle("/NetworkDriver.GetCapabilities", "junk"),
            ok(R"({"Err":"","Scope":"global","ConnectivityScope":""})"));
}

TEST_F(DriverTest, UnregisteredRoutesAre404) {
  const PluginReply not_found{404, "404 page not found\n"};
  for (auto p : {"/NetworkDriver.DiscoverNew", "/NetworkDriver.DiscoverDelete",
                 "/NetworkDriver.ProgramExternalConnectivity", "/NetworkDriver.RevokeExternalConnectivity",
                 "/IpamDriver.Bogus", "/", "/Plugin.Activate/x"}) {
    EXPECT_EQ(post(p, "{}"), not_found) << p;
  }
  for (auto p : {"/IpamDriver.GetCapabilities", "/IpamDriver.RequestPool", "/IpamDriver.RequestAddress"}) {
    EXPECT_EQ(legacy.handle(p, "{}"), not_found) << p;
  }
}

TEST_F(DriverTest, RoutesListsWhatHandleServes) {
  EXPECT_EQ(mesh.routes().size(), 17u);
  EXPECT_EQ(legacy.routes().size(), 11u);
  for (const auto& r : mesh.routes()) EXPECT_NE(post(r, "{}").status, 404) << r;
  for (const auto& r : legacy.routes()) {
    EXPECT_EQ(r.find("Ipam"), std::string::npos);
    EXPECT_NE(legacy.handle(r, "{}").status, 404) << r;
  }
}

// ---- networks

TEST_F(DriverTest, CreateNetworkRemembersOptions) {
  create_network("n1", R"({"works.weave.multicast":"true","other":"x","num":5})");
  EXPECT_EQ(mesh.network_for_test("n1"), (NetworkInfo{.ours = true, .multicast = true, .gateway = false}));
  create_network("n2", "{}");
  EXPECT_EQ(mesh.network_for_test("n2"), (NetworkInfo{.ours = true, .multicast = false, .gateway = false}));
  ASSERT_EQ(post("/NetworkDriver.CreateNetwork", R"({"NetworkID":"n3"})"), ok("{}"));
  EXPECT_EQ(mesh.network_for_test("n3"), (NetworkInfo{.ours = true}));
  ASSERT_EQ(post("/NetworkDriver.CreateNetwork", R"({"NetworkID":"n4","Options":{"com.docker.network.generic":"x"}})"),
            ok("{}"));
  EXPECT_EQ(mesh.network_for_test("n4"), (NetworkInfo{.ours = true}));
}

TEST_F(DriverTest, MulticastOptionFollowsGoParseBool) {
  for (auto v : {"", "1", "t", "T", "TRUE", "true", "True"}) {
    create_network("n", fmt::format(R"({{"works.weave.multicast":"{}"}})", v));
    EXPECT_TRUE(mesh.network_for_test("n")->multicast) << v;
  }
  for (auto v : {"0", "f", "F", "FALSE", "false", "False"}) {
    create_network("n", fmt::format(R"({{"works.weave.multicast":"{}"}})", v));
    EXPECT_FALSE(mesh.network_for_test("n")->multicast) << v;
  }
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork",
                 R"({"NetworkID":"bad","Options":{"com.docker.network.generic":{"works.weave.multicast":"yes"}}})"),
            err(R"({"Err":"unrecognized value \"yes\" for option works.weave.multicast"})"));
  EXPECT_EQ(mesh.network_for_test("bad"), std::nullopt);
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork",
                 R"({"NetworkID":"bad","Options":{"com.docker.network.generic":{"works.weave.gateway":"<x>"}}})"),
            err(R"({"Err":"unrecognized value \"\u003cx\u003e\" for option works.weave.gateway"})"));
}

TEST_F(DriverTest, DeleteNetworkForgets) {
  create_network("n1", "{}");
  EXPECT_EQ(post("/NetworkDriver.DeleteNetwork", R"({"NetworkID":"n1"})"), ok("{}"));
  EXPECT_EQ(mesh.network_for_test("n1"), std::nullopt);
  EXPECT_EQ(post("/NetworkDriver.DeleteNetwork", R"({"NetworkID":"never"})"), ok("{}"));
}

TEST_F(DriverTest, AllocateNetworkEchoesOptionsAndFreeNetworkIsNull) {
  EXPECT_EQ(post("/NetworkDriver.AllocateNetwork", R"({"NetworkID":"n1","IPv4Data":[]})"),
            ok(R"({"Err":"","Options":null})"));
  EXPECT_EQ(post("/NetworkDriver.AllocateNetwork", R"({"NetworkID":"n1","Options":{}})"),
            ok(R"({"Err":"","Options":{}})"));
  EXPECT_EQ(post("/NetworkDriver.AllocateNetwork", R"({"NetworkID":"n1","Options":{"b":"<&>","a":"1","c":null}})"),
            ok(R"({"Err":"","Options":{"a":"1","b":"\u003c\u0026\u003e","c":""}})"));
  EXPECT_EQ(post("/NetworkDriver.AllocateNetwork", R"({"NetworkID":"n1","Options":{"a":1}})"),
            bad("Could not decode JSON encode payload"));
  EXPECT_EQ(post("/NetworkDriver.FreeNetwork", R"({"NetworkID":"n1"})"), ok("null"));
  EXPECT_EQ(post("/NetworkDriver.FreeNetwork", "x"), bad("Could not decode JSON encode payload"));
}

// ---- endpoints

TEST_F(DriverTest, CreateEndpointMakesVethsAndAnswersTheGuestMac) {
  auto body = fmt::format(
      R"({{"NetworkID":"n1","EndpointID":"{}","Interface":{{"Address":"10.32.0.1/12","AddressIPv6":"","MacAddress":""}},"Options":{{}}}})",
      kEp);
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint", body),
            ok(R"({"Err":"","Interface":{"Address":"","AddressIPv6":"","MacAddress":"02:42:0a:20:00:01"}})"));
  EXPECT_TRUE(links.has("vethwl012345678"));
  EXPECT_TRUE(links.has("vethwg012345678"));
}

TEST_F(DriverTest, CreateEndpointWithoutInterfaceIsNotSupported) {
  const auto want = err(R"({"Err":"Not supported: creating an interface from within CreateEndpoint"})");
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint", fmt::format(R"({{"NetworkID":"n1","EndpointID":"{}"}})", kEp)), want);
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint",
                 fmt::format(R"({{"NetworkID":"n1","EndpointID":"{}","Interface":null}})", kEp)),
            want);
  EXPECT_EQ(links.size(), 0u);
  // An empty object is an interface (Go: non-nil pointer).
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint",
                 fmt::format(R"({{"NetworkID":"n1","EndpointID":"{}","Interface":{{}}}})", kEp)).status,
            200);
}

TEST_F(DriverTest, CreateEndpointErrors) {
  links.fail_create = Error{"Link not found: <weave>"};
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint",
                 fmt::format(R"({{"NetworkID":"n1","EndpointID":"{}","Interface":{{}}}})", kEp)),
            err(R"({"Err":"Link not found: \u003cweave\u003e"})"));
  links.fail_create.reset();
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint", R"({"NetworkID":"n1","EndpointID":"","Interface":{}})"),
            err(R"({"Err":"invalid endpoint ID \"\""})"));
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint", R"({"NetworkID":"n1","EndpointID":"a/b","Interface":{}})"),
            err(R"({"Err":"invalid endpoint ID \"a/b\""})"));
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint", R"({"NetworkID":"n1","EndpointID":"e","Interface":"x"})"),
            bad("unable to decode JSON payload: json: cannot unmarshal string into Go struct field "
                "CreateEndpointRequest.Interface of type api.EndpointInterface"));
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint", R"({"NetworkID":"n1","EndpointID":"e","Interface":{"MacAddress":7}})"),
            bad("unable to decode JSON payload: json: cannot unmarshal number into Go struct field "
                "EndpointInterface.MacAddress of type string"));
  EXPECT_EQ(links.size(), 0u);
}

TEST_F(DriverTest, ShortEndpointIdsDoNotCrash) {
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint", R"({"EndpointID":"abc","Interface":{}})").status, 200);
  EXPECT_TRUE(links.has("vethwlabc"));
  EXPECT_EQ(post("/NetworkDriver.DeleteEndpoint", R"({"EndpointID":"abc"})"), ok("{}"));
  EXPECT_FALSE(links.has("vethwlabc"));
  EXPECT_EQ(post("/NetworkDriver.DeleteEndpoint", R"({"EndpointID":""})"), ok("{}"));
}

TEST_F(DriverTest, DeleteEndpointDeletesVethsAndAlwaysAnswersEmpty) {
  ASSERT_EQ(post("/NetworkDriver.CreateEndpoint", fmt::format(R"({{"EndpointID":"{}","Interface":{{}}}})", kEp)).status,
            200);
  EXPECT_EQ(post("/NetworkDriver.DeleteEndpoint", fmt::format(R"({{"NetworkID":"n1","EndpointID":"{}"}})", kEp)),
            ok("{}"));
  EXPECT_EQ(links.size(), 0u);
  // Nothing left to delete: still {}.
  EXPECT_EQ(post("/NetworkDriver.DeleteEndpoint", fmt::format(R"({{"NetworkID":"n1","EndpointID":"{}"}})", kEp)),
            ok("{}"));
  EXPECT_EQ(links.deletes(), (std::vector<std::string>{"vethwl012345678", "vethwl012345678", "vethwl01234"}));
}

TEST_F(DriverTest, DeleteEndpointFallsBackToTheLegacyName) {
  links.add_for_test("vethwl01234", "vethwg01234");
  EXPECT_EQ(post("/NetworkDriver.DeleteEndpoint", fmt::format(R"({{"EndpointID":"{}"}})", kEp)), ok("{}"));
  EXPECT_EQ(links.size(), 0u);
}

TEST_F(DriverTest, LeaveDeletesTheVeths) {
  ASSERT_EQ(post("/NetworkDriver.CreateEndpoint", fmt::format(R"({{"EndpointID":"{}","Interface":{{}}}})", kEp)).status,
            200);
  EXPECT_EQ(post("/NetworkDriver.Leave", fmt::format(R"({{"NetworkID":"n1","EndpointID":"{}"}})", kEp)), ok("{}"));
  EXPECT_EQ(links.size(), 0u);
  // DeleteEndpoint afterwards finds nothing and is still fine.
  EXPECT_EQ(post("/NetworkDriver.DeleteEndpoint", fmt::format(R"({{"NetworkID":"n1","EndpointID":"{}"}})", kEp)),
            ok("{}"));
}

TEST_F(DriverTest, EndpointOperInfo) {
  EXPECT_EQ(post("/NetworkDriver.EndpointOperInfo", fmt::format(R"({{"NetworkID":"n1","EndpointID":"{}"}})", kEp)),
            ok(R"({"Err":"","Value":{}})"));
}

// ---- Join

TEST_F(DriverTest, JoinWithMulticastAndDefaultGatewayDisabled) {
  create_network("n1", R"({"works.weave.multicast":""})");
  EXPECT_EQ(join("n1"), ok(join_answer(true, true)));
  create_network("n2", R"({"works.weave.multicast":"false"})");
  EXPECT_EQ(join("n2"), ok(join_answer(false, true)));
  EXPECT_TRUE(docker.lookups.empty());
}

TEST_F(DriverTest, JoinGatewayOptionKeepsDockerGateway) {
  create_network("n1", R"({"works.weave.gateway":"true"})");
  EXPECT_EQ(join("n1"), ok(join_answer(false, false)));
  create_network("n2", R"({"works.weave.gateway":"0","works.weave.multicast":"1"})");
  EXPECT_EQ(join("n2"), ok(join_answer(true, true)));
  create_network("n3", R"({"works.weave.gateway":""})");
  EXPECT_EQ(join("n3"), ok(join_answer(false, false)));
}

TEST_F(DriverTest, JoinLooksUnknownNetworksUpInDockerOnce) {
  docker.networks["d1"] = {"weavemesh", {{"works.weave.multicast", "true"}, {"works.weave.gateway", "t"}}};
  docker.networks["d2"] = {"bridge", {{"works.weave.multicast", "true"}}};
  docker.networks["d3"] = {"weavemesh", {{"works.weave.multicast", "maybe"}}};
  EXPECT_EQ(join("d1"), ok(join_answer(true, false)));
  EXPECT_EQ(join("d1"), ok(join_answer(true, false)));
  EXPECT_EQ(docker.lookups, std::vector<std::string>{"d1"});
  // Not ours: options are not read.
  EXPECT_EQ(join("d2"), ok(join_answer(false, true)));
  EXPECT_EQ(mesh.network_for_test("d2"), NetworkInfo{});
  EXPECT_EQ(join("d3"), err(R"({"Err":"unable to find network info: unrecognized value \"maybe\" for option works.weave.multicast"})"));
  EXPECT_EQ(join("nope"), err(R"({"Err":"unable to find network info: No such network: nope"})"));
  // The legacy driver's name is "weave": a weavemesh network is not its own.
  EXPECT_EQ(legacy.handle("/NetworkDriver.Join", R"({"NetworkID":"d1","EndpointID":"0123456789"})"),
            ok(join_answer(false, true)));
}

TEST_F(DriverTest, JoinWithoutDockerApi) {
  Driver d(DriverConfig::mesh(), router, nullptr, links, null_logger());
  EXPECT_EQ(d.handle("/NetworkDriver.Join", R"({"NetworkID":"x","EndpointID":"0123456789"})"),
            err(R"({"Err":"unable to find network info: no Docker API to look up network x"})"));
  EXPECT_EQ(d.handle("/NetworkDriver.Join", R"({"EndpointID":"0123456789"})"),
            err(R"({"Err":"unable to find network info: invalid empty network ID"})"));
}

// ---- IPAM

TEST_F(DriverTest, IpamCapabilitiesAndAddressSpaces) {
  EXPECT_EQ(post("/IpamDriver.GetCapabilities", ""), ok(R"({"RequiresMACAddress":false,"RequiresRequestReplay":false})"));
  EXPECT_EQ(post("/IpamDriver.GetDefaultAddressSpaces", ""),
            ok(R"({"Error":"","LocalDefaultAddressSpace":"weavelocal","GlobalDefaultAddressSpace":"weaveglobal"})"));
}

TEST_F(DriverTest, RequestPoolDefaultSubnet) {
  EXPECT_EQ(post("/IpamDriver.RequestPool", R"({"AddressSpace":"weavelocal","Pool":"","SubPool":"","Options":{},"V6":false})"),
            ok(R"({"Error":"","PoolID":"weave-10.32.0.0/12-10.32.0.0/12","Pool":"10.32.0.0/12","Data":{"com.docker.network.gateway":"10.32.0.0/12"}})"));
  EXPECT_EQ(router.calls, std::vector<std::string>{"GET /ipinfo/defaultsubnet"});
}

TEST_F(DriverTest, RequestPoolWithPoolAndSubPool) {
  EXPECT_EQ(post("/IpamDriver.RequestPool", R"({"AddressSpace":"weavelocal","Pool":"10.32.0.0/12","SubPool":"10.32.64.0/18"})"),
            ok(R"({"Error":"","PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Pool":"10.32.0.0/12","Data":{"com.docker.network.gateway":"10.32.0.0/12"}})"));
  // Host bits are masked off, in both.
  EXPECT_EQ(post("/IpamDriver.RequestPool", R"({"Pool":"10.40.1.2/16","SubPool":"10.40.128.9/17","V6":true})"),
            ok(R"({"Error":"","PoolID":"weave-10.40.0.0/16-10.40.128.0/17","Pool":"10.40.0.0/16","Data":{"com.docker.network.gateway":"10.40.0.0/16"}})"));
  EXPECT_TRUE(router.calls.empty());
}

TEST_F(DriverTest, RequestPoolErrors) {
  EXPECT_EQ(post("/IpamDriver.RequestPool", R"({"Pool":"bogus"})"), err(R"({"Err":"invalid CIDR address: bogus"})"));
  EXPECT_EQ(post("/IpamDriver.RequestPool", R"({"Pool":"10.0.0.0/8","SubPool":"x"})"),
            err(R"({"Err":"invalid CIDR address: x"})"));
  router.fail_next = Error{"404 Not Found: 404 page not found\n"};
  EXPECT_EQ(post("/IpamDriver.RequestPool", R"({})"), err(R"({"Err":"404 Not Found: 404 page not found\n"})"));
  EXPECT_EQ(post("/IpamDriver.RequestPool", R"({"V6":"yes"})"),
            bad("Unable to decode JSON payload: json: cannot unmarshal string into Go struct field "
                "RequestPoolRequest.V6 of type bool"));
}

TEST_F(DriverTest, RequestAddressWithoutAddressAllocatesInTheRangeWithThePoolMask) {
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"","Options":{}})"),
            ok(R"({"Error":"","Address":"10.32.64.1/12","Data":null})"));
  EXPECT_EQ(router.calls, std::vector<std::string>{"POST /ip/_/10.32.64.0/18"});
}

TEST_F(DriverTest, RequestAddressWithAddressClaims) {
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.70.7"})"),
            ok(R"({"Error":"","Address":"10.32.70.7/12","Data":null})"));
  // Docker's claim of the fake gateway (the network address) goes the same way.
  EXPECT_EQ(post("/IpamDriver.RequestAddress",
                 R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.0.0","Options":{"RequestAddressType":"com.docker.network.gateway"}})"),
            ok(R"({"Error":"","Address":"10.32.0.0/12","Data":null})"));
  EXPECT_EQ(router.calls, (std::vector<std::string>{"PUT /ip/_/10.32.70.7/12", "PUT /ip/_/10.32.0.0/12"}));
  // A conflict comes back as the router said it.
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.70.7"})"),
            err(R"({"Err":"400 Bad Request: Unable to claim: address 10.32.70.7/12 is already owned by x"})"));
}

TEST_F(DriverTest, RequestAddressLegacyPool) {
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weavepool"})"),
            ok(R"({"Error":"","Address":"10.32.0.1/12","Data":null})"));
  EXPECT_EQ(router.calls, std::vector<std::string>{"POST /ip/_"});
}

TEST_F(DriverTest, RequestAddressErrors) {
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"bogus"})"), err(R"({"Err":"Unrecognized pool ID: bogus"})"));
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weave-a-b-c"})"),
            err(R"({"Err":"Unrecognized pool ID: weave-a-b-c"})"));
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weave-x-10.0.0.0/8"})"),
            err(R"({"Err":"invalid CIDR address: x"})"));
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.0.0.0/8-y"})"),
            err(R"({"Err":"invalid CIDR address: y"})"));
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.0.0.0/8-10.0.0.0/8","Address":"fe80::1"})"),
            err(R"({"Err":"invalid address \"fe80::1\""})"));
  router.fail_next = Error{"Post \"http://127.0.0.1:6784/ip/_/10.0.0.0/8\": connection refused"};
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.0.0.0/8-10.0.0.0/8"})"),
            err(R"({"Err":"Post \"http://127.0.0.1:6784/ip/_/10.0.0.0/8\": connection refused"})"));
  EXPECT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":1})"),
            bad("Unable to decode JSON payload: json: cannot unmarshal number into Go struct field "
                "RequestAddressRequest.PoolID of type string"));
}

TEST_F(DriverTest, ReleaseAddress) {
  ASSERT_EQ(post("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18"})").status, 200);
  router.calls.clear();
  // The network (fake gateway) address: nothing to do.
  EXPECT_EQ(post("/IpamDriver.ReleaseAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.0.0"})"),
            ok("{}"));
  EXPECT_TRUE(router.calls.empty());
  EXPECT_EQ(post("/IpamDriver.ReleaseAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.64.1"})"),
            ok("{}"));
  EXPECT_EQ(router.calls, std::vector<std::string>{"DELETE /ip/10.32.64.1"});
  EXPECT_EQ(post("/IpamDriver.ReleaseAddress", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.64.1"})"),
            err(R"({"Err":"400 Bad Request: Delete: no addresses for ID"})"));
  EXPECT_EQ(post("/IpamDriver.ReleaseAddress", R"({"PoolID":"weavepool","Address":"nope"})"),
            err(R"({"Err":"invalid address \"nope\""})"));
  EXPECT_EQ(post("/IpamDriver.ReleasePool", R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18"})"), ok("{}"));
}

// ---- undecodable and odd input

TEST_F(DriverTest, UndecodableBodiesAre400WithTheRoutesWording) {
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", ""), bad("Unable to decode JSON payload: EOF"));
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", "  \n"), bad("Unable to decode JSON payload: EOF"));
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", R"({"NetworkID":)"), bad("Unable to decode JSON payload: unexpected EOF"));
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", "x"),
            bad("Unable to decode JSON payload: invalid character 'x' looking for beginning of value"));
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", "[1]"),
            bad("Unable to decode JSON payload: json: cannot unmarshal array into Go value of type "
                "api.CreateNetworkRequest"));
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", R"({"NetworkID":5})"),
            bad("Unable to decode JSON payload: json: cannot unmarshal number into Go struct field "
                "CreateNetworkRequest.NetworkID of type string"));
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", R"({"NetworkID":"n","Options":[]})"),
            bad("Unable to decode JSON payload: json: cannot unmarshal array into Go struct field "
                "CreateNetworkRequest.Options of type map[string]interface {}"));
  EXPECT_EQ(post("/NetworkDriver.DeleteNetwork", "{"), bad("Unable to decode JSON payload: unexpected EOF"));
  EXPECT_EQ(post("/NetworkDriver.CreateEndpoint", ""), bad("unable to decode JSON payload: EOF"));
  for (auto p : {"/NetworkDriver.DeleteEndpoint", "/NetworkDriver.EndpointOperInfo", "/NetworkDriver.Join",
                 "/NetworkDriver.Leave"}) {
    EXPECT_EQ(post(p, "nope"), bad("Could not decode JSON encoded payload")) << p;
    EXPECT_EQ(post(p, R"({"EndpointID":true})"), bad("Could not decode JSON encoded payload")) << p;
  }
  for (auto p : {"/IpamDriver.RequestPool", "/IpamDriver.ReleasePool", "/IpamDriver.RequestAddress",
                 "/IpamDriver.ReleaseAddress"}) {
    EXPECT_EQ(post(p, ""), bad("Unable to decode JSON payload: EOF")) << p;
  }
}

TEST_F(DriverTest, DecodingIsGoLike) {
  // Trailing bytes after the first value are not read; null is the zero request; keys match
  // case-insensitively and the last one wins.
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", R"({"NetworkID":"n1"} trailing junk)"), ok("{}"));
  EXPECT_TRUE(mesh.network_for_test("n1"));
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", "null"), ok("{}"));
  EXPECT_TRUE(mesh.network_for_test(""));
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", R"({"networkid":"a","NETWORKID":"n2"})"), ok("{}"));
  EXPECT_TRUE(mesh.network_for_test("n2"));
  EXPECT_FALSE(mesh.network_for_test("a"));
  EXPECT_EQ(post("/NetworkDriver.CreateNetwork", R"({"NetworkID":null,"Unknown":[1,2,{"x":null}]})"), ok("{}"));
}

TEST_F(DriverTest, RandomInputNeverCrashes) {
  std::mt19937 rng(7);
  const std::vector<std::string> seeds = {
      R"({"NetworkID":"n","EndpointID":"0123456789ab","Interface":{},"Options":{"com.docker.network.generic":{"works.weave.multicast":"1"}}})",
      R"({"PoolID":"weave-10.32.0.0/12-10.32.64.0/18","Address":"10.32.64.9","Pool":"10.32.0.0/12","SubPool":""})",
      R"({"PoolID":"weavepool","Options":{"a":"b"},"V6":false})"};
  auto routes = mesh.routes();
  for (int i = 0; i < 3000; ++i) {
    std::string body = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      auto pos = rng() % body.size();
      switch (rng() % 3) {
        case 0: body[pos] = static_cast<char>(rng() % 256); break;
        case 1: body.erase(pos, 1 + rng() % 8); break;
        default: body.insert(pos, 1, "{}[]\":,0tn\\"[rng() % 11]); break;
      }
    }
    const auto& route = routes[rng() % routes.size()];
    auto r = mesh.handle(route, body);
    ASSERT_TRUE(r.status == 200 || r.status == 400 || r.status == 500) << route << " " << body;
    ASSERT_FALSE(r.body.empty());
    ASSERT_EQ(r.body.back(), '\n');
  }
}

// ---- helpers

TEST(GoJson, StringsAreEscapedLikeGosEncoder) {
  EXPECT_EQ(go_json_string("plain"), R"("plain")");
  EXPECT_EQ(go_json_string("a\"b\\c\n\r\t"), R"("a\"b\\c\n\r\t")");
  EXPECT_EQ(go_json_string(std::string("\x01\x1f\b\f", 4)), R"("\u0001\u001f\u0008\u000c")");
  EXPECT_EQ(go_json_string("<a&b>"), R"("\u003ca\u0026b\u003e")");
  EXPECT_EQ(go_json_string("caf\xc3\xa9 \xe2\x80\xa8 \xe2\x80\xa9"), "\"caf\xc3\xa9 \\u2028 \\u2029\"");
  EXPECT_EQ(go_json_string("\xff" "a\xc3"), R"("\ufffda\ufffd")");
  EXPECT_EQ(go_json_string("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // a surrogate
  EXPECT_EQ(go_json_string("\x7f"), "\"\x7f\"");
}

TEST(GoJson, QuoteLikePercentQ) {
  EXPECT_EQ(go_quote("yes"), R"("yes")");
  EXPECT_EQ(go_quote("a\"b\\\n\x01\xff\xc3\xa9"), R"("a\"b\\\n\x01\xffé")");
}

TEST(GoJson, ParseBool) {
  for (auto s : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_EQ(go_parse_bool(s), true) << s;
  for (auto s : {"0", "f", "F", "FALSE", "false", "False"}) EXPECT_EQ(go_parse_bool(s), false) << s;
  for (auto s : {"", "yes", "tRUE", " true", "2"}) EXPECT_EQ(go_parse_bool(s), std::nullopt) << s;
}

TEST(VethPair, NamesFromTheEndpointId) {
  EXPECT_EQ(*veth_pair_for(kEp), (VethPair{"vethwl012345678", "vethwg012345678"}));
  EXPECT_EQ(*veth_pair_for("ab"), (VethPair{"vethwlab", "vethwgab"}));
  EXPECT_FALSE(veth_pair_for("").ok());
  EXPECT_FALSE(veth_pair_for("a b").ok());
  EXPECT_TRUE(veth_pair_for("123456789/ignored-after-9").ok());
}

}  // namespace
}  // namespace weft::plugin
