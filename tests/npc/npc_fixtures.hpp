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

}  // namespace weft::npc::testing
