#pragma once
// Builders of Kubernetes API objects for the npc tests: JSON as the API server sends it, decoded
// through the same path the controller uses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "weft/npc/decode.hpp"
#include "weft/npc/model.hpp"

namespace weft::npc::testing {

using nlohmann::json;

inline Namespace ns(const std::string& name, json labels = json::object()) {
  auto r = decode_namespace({{"kind", "Namespace"},
                             {"apiVersion", "v1"},
                             {"metadata", {{"name", name}, {"uid", "uid-ns-" + name}, {"labels", labels}}}});
  EXPECT_TRUE(r.ok()) << r.error().message;
  return *r;
}

inline json pod_json(const std::string& nsname, const std::string& name, const std::string& ip, json labels,
                     json ports = json::array()) {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"namespace", nsname}, {"uid", "uid-pod-" + name}, {"labels", labels}}},
          {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x"}, {"ports", ports}}})}}},
          {"status", {{"phase", "Running"}, {"podIP", ip}}}};
}

inline Pod pod(const std::string& nsname, const std::string& name, const std::string& ip, json labels,
               json ports = json::array()) {
  auto r = decode_pod(pod_json(nsname, name, ip, std::move(labels), std::move(ports)));
  EXPECT_TRUE(r.ok()) << r.error().message;
  return *r;
}

inline NetworkPolicy policy(const std::string& nsname, const std::string& name, json spec) {
  auto r = decode_policy({{"kind", "NetworkPolicy"},
                          {"apiVersion", "networking.k8s.io/v1"},
                          {"metadata", {{"name", name}, {"namespace", nsname}, {"uid", "uid-np-" + name}}},
                          {"spec", std::move(spec)}});
  EXPECT_TRUE(r.ok()) << r.error().message;
  return *r;
}

inline void put(Cluster& c, Namespace n) { c.namespaces[n.name] = std::move(n); }
inline void put(Cluster& c, Pod p) { c.pods[Cluster::key(p.ns, p.name)] = std::move(p); }
inline void put(Cluster& c, NetworkPolicy p) { c.policies[Cluster::key(p.ns, p.name)] = std::move(p); }

/// The burst of issue 14: 10 namespaces and 50 policies (pod, namespace and CIDR peers, numeric and
/// named ports, a third of them isolating egress with DNS allowed).
inline void burst_policies(Cluster& c) {
  for (int n = 0; n < 10; ++n) put(c, ns("ns" + std::to_string(n), {{"team", n % 2 ? "a" : "b"}}));
  for (int i = 0; i < 50; ++i) {
    json from = json::array({{{"podSelector", {{"matchLabels", {{"app", "app" + std::to_string(i % 5)}}}}}},
                             {{"namespaceSelector", {{"matchLabels", {{"team", "a"}}}}}},
                             {{"ipBlock", {{"cidr", "10.0.0.0/8"}, {"except", {"10.99.0.0/16"}}}}}});
    put(c, policy("ns" + std::to_string(i % 10), "p" + std::to_string(i),
                  {{"podSelector", {{"matchLabels", {{"app", "app" + std::to_string(i % 7)}}}}},
                   {"policyTypes", i % 3 == 0 ? json{"Ingress", "Egress"} : json{"Ingress"}},
                   {"ingress", json::array({{{"from", from}, {"ports", json::array({{{"port", 8000 + i}}, {{"port", "http"}}})}}})},
                   {"egress", json::array({{{"ports", json::array({{{"protocol", "UDP"}, {"port", 53}}})}}})}}));
  }
}

/// 500 pod events over burst_policies()'s namespaces, every pod naming port 80 "http".
inline void burst_pods(Cluster& c) {
  for (int i = 0; i < 500; ++i) {
    put(c, pod("ns" + std::to_string(i % 10), "pod" + std::to_string(i),
               "10.32." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1),
               {{"app", "app" + std::to_string(i % 7)}}, json::array({{{"name", "http"}, {"containerPort", 80}}})));
  }
}

}  // namespace weft::npc::testing
