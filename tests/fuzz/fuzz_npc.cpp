// libFuzzer target for weave-npc's decoders of outside bytes: API objects (namespaces, pods,
// NetworkPolicies) as JSON from the API server, planned into sets and rules; and NFLOG datagrams
// from the kernel with the packets they carry.
#include <cstddef>
#include <cstdint>
#include <span>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "weft/npc/blocked.hpp"
#include "weft/npc/decode.hpp"
#include "weft/npc/diff.hpp"
#include "weft/npc/plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace weft::npc;  // NOLINT
  std::span<const std::uint8_t> bytes(data, size);
  for (auto payload : nflog_payloads(bytes)) {
    FUZZ_CHECK(payload.data() >= data && payload.data() + payload.size() <= data + size);
    (void)decode_blocked(payload);
  }
  (void)decode_blocked(bytes);

  auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  Cluster c;
  c.namespaces["default"] = Namespace{"default", "u", {{"team", "a"}}};
  if (auto ns = decode_namespace(j)) c.namespaces[ns->name] = *ns;
  if (auto pod = decode_pod(j)) c.pods[Cluster::key(pod->ns, pod->name)] = *pod;
  if (auto pol = decode_policy(j)) c.policies[Cluster::key(pol->ns, pol->name)] = *pol;
  if (j.is_object() && j.contains("items") && j["items"].is_array()) {
    for (const auto& item : j["items"]) {
      if (auto pod = decode_pod(item)) c.pods[Cluster::key(pod->ns, pod->name)] = *pod;
      if (auto pol = decode_policy(item)) c.policies[Cluster::key(pol->ns, pol->name)] = *pol;
    }
  }
  const Plan p = compute_plan(c);
  for (const auto& [name, s] : p.sets) FUZZ_CHECK(name.size() <= 31 && name.rfind("weave-", 0) == 0);
  const Scripts s = diff_plans(Plan{}, p);
  FUZZ_CHECK(diff_plans(p, p).empty());
  FUZZ_CHECK(s.ipset_post.empty());
  return 0;
}
