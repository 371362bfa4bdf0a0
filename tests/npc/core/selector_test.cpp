// Selector keys (kube spec §4.4) and the decoders' validation of API objects.
#include <gtest/gtest.h>

#include "npc_fixtures.hpp"

namespace weft::npc {
namespace {

using testing::json;

LabelSelector sel(const json& j) {
  auto r = decode_selector(j);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : LabelSelector{};
}

TEST(Selector, CanonicalKeys) {
  EXPECT_EQ(sel(json::object()).key(), "");
  EXPECT_EQ(sel({{"matchLabels", {{"run", "nettest"}}}}).key(), "run=nettest");
  EXPECT_EQ(sel({{"matchLabels", {{"b", "2"}, {"a", "1"}}}}).key(), "a=1,b=2");
  EXPECT_EQ(sel({{"matchExpressions", json::array({{{"key", "tier"}, {"operator", "In"}, {"values", {"web", "db"}}},
                                                   {{"key", "env"}, {"operator", "NotIn"}, {"values", {"prod"}}},
                                                   {{"key", "x"}, {"operator", "Exists"}},
                                                   {{"key", "gone"}, {"operator", "DoesNotExist"}}})}})
                .key(),
            "env notin (prod),!gone,tier in (db,web),x");
}

TEST(Selector, Matching) {
  auto s = sel({{"matchLabels", {{"app", "web"}}},
                {"matchExpressions", json::array({{{"key", "env"}, {"operator", "NotIn"}, {"values", {"prod"}}}})}});
  EXPECT_TRUE(s.matches({{"app", "web"}}));
  EXPECT_TRUE(s.matches({{"app", "web"}, {"env", "dev"}}));
  EXPECT_FALSE(s.matches({{"app", "web"}, {"env", "prod"}}));
  EXPECT_FALSE(s.matches({{"app", "db"}}));
  EXPECT_TRUE(sel(json::object()).matches({}));
  auto dne = sel({{"matchExpressions", json::array({{{"key", "a"}, {"operator", "DoesNotExist"}}})}});
  EXPECT_TRUE(dne.matches({{"b", "1"}}));
  EXPECT_FALSE(dne.matches({{"a", ""}}));
}

TEST(Selector, BadSelectorsAreRefused) {
  EXPECT_FALSE(decode_selector({{"matchExpressions", json::array({{{"key", "a"}, {"operator", "In"}}})}}).ok());
  EXPECT_FALSE(decode_selector({{"matchExpressions", json::array({{{"key", "a"}, {"operator", "Near"}}})}}).ok());
  EXPECT_FALSE(
      decode_selector({{"matchExpressions", json::array({{{"key", "a"}, {"operator", "Exists"}, {"values", {"x"}}}})}})
          .ok());
  EXPECT_FALSE(decode_selector({{"matchLabels", {{"a", 1}}}}).ok());
  EXPECT_FALSE(decode_selector(json::array()).ok());
}

TEST(Decode, PodHasAnIpOnlyWhenRunningOffTheHostNetwork) {
  auto j = testing::pod_json("default", "p", "10.32.0.5", {{"a", "b"}},
                             json::array({{{"name", "http"}, {"containerPort", 8080}}}));
  auto p = decode_pod(j);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->ip.has_value());
  EXPECT_EQ(p->ip->str(), "10.32.0.5");
  ASSERT_EQ(p->ports.size(), 1u);
  EXPECT_EQ(p->ports[0], (ContainerPort{"http", "TCP", 8080}));
  auto done = j;
  done["status"]["phase"] = "Succeeded";
  EXPECT_FALSE(decode_pod(done)->ip.has_value());
  auto host = j;
  host["spec"]["hostNetwork"] = true;
  EXPECT_FALSE(decode_pod(host)->ip.has_value());
  auto v6 = j;
  v6["status"]["podIP"] = "fd00::1";
  EXPECT_FALSE(decode_pod(v6)->ip.has_value());
  auto pending = j;
  pending["status"].erase("podIP");
  EXPECT_FALSE(decode_pod(pending)->ip.has_value());
  auto bad = j;
  bad["spec"]["containers"][0]["ports"][0]["containerPort"] = 70000;
  EXPECT_FALSE(decode_pod(bad).ok());
  EXPECT_FALSE(decode_pod({{"metadata", {{"name", "x"}}}}).ok());  // no namespace
}

TEST(Decode, PolicyValidation) {
  auto ok = [](json spec) {
    return decode_policy({{"metadata", {{"name", "p"}, {"namespace", "default"}}}, {"spec", std::move(spec)}}).ok();
  };
  EXPECT_TRUE(ok({{"podSelector", json::object()}, {"policyTypes", {"Ingress"}}}));
  EXPECT_FALSE(ok({{"podSelector", json::object()}, {"policyTypes", {"Sideways"}}}));
  EXPECT_FALSE(ok({{"podSelector", json::object()},
                   {"ingress", json::array({{{"from", json::array({json::object()})}}})}}));  // empty peer
  EXPECT_FALSE(ok({{"podSelector", json::object()},
                   {"ingress", json::array({{{"from", json::array({{{"ipBlock", {{"cidr", "10.0.0.0/33"}}}}})}}})}}));
  EXPECT_FALSE(ok({{"podSelector", json::object()},
                   {"ingress", json::array({{{"from", json::array({{{"ipBlock", {{"cidr", "10.0.0.0/8"}}},
                                                                     {"podSelector", json::object()}}})}}})}}));
  EXPECT_FALSE(ok({{"podSelector", json::object()},
                   {"ingress", json::array({{{"ports", json::array({{{"protocol", "ICMP"}, {"port", 1}}})}}})}}));
  EXPECT_FALSE(ok({{"podSelector", json::object()},
                   {"ingress", json::array({{{"ports", json::array({{{"port", 0}}})}}})}}));
  EXPECT_FALSE(ok({{"podSelector", json::object()},
                   {"ingress", json::array({{{"ports", json::array({{{"port", 90}, {"endPort", 80}}})}}})}}));
  EXPECT_FALSE(ok(json::array()));
  // No policyTypes (an object the API server did not default): Ingress, plus Egress with egress rules.
  auto p = decode_policy({{"metadata", {{"name", "p"}, {"namespace", "d"}}},
                          {"spec", {{"podSelector", json::object()}, {"egress", json::array()}}}});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->ingress);
  EXPECT_TRUE(p->egress);
}

}  // namespace
}  // namespace weft::npc
