#pragma once
// From Kubernetes API JSON (namespaces, pods, networking.k8s.io/v1 NetworkPolicies) to the model.
// The input is untrusted bytes from the API server: every field is checked, a bad object gives an
// error naming what is wrong and never an exception (tests/fuzz/fuzz_npc.cpp).
#include <nlohmann/json.hpp>

#include "weft/base/result.hpp"
#include "weft/npc/model.hpp"

namespace weft::npc {

Result<LabelSelector> decode_selector(const nlohmann::json& j);
Result<Namespace> decode_namespace(const nlohmann::json& j);
Result<Pod> decode_pod(const nlohmann::json& j);
/// Also validates what the API server validates (peers, ports, protocols, CIDRs), so that a policy
/// the planner sees always renders to rules iptables accepts.
Result<NetworkPolicy> decode_policy(const nlohmann::json& j);

}  // namespace weft::npc
