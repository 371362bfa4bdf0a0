#pragma once
// The Kubernetes objects weave-npc reads (kube spec §4, §6.3), reduced to the fields that decide
// policy, and the cluster view they make up. Plain values: the planner (plan.hpp) derives every set
// and rule from a Cluster, so tests build one by hand or decode it from API JSON (decode.hpp).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weft/base/ipv4.hpp"

namespace weft::npc {

using Labels = std::map<std::string, std::string>;

/// One requirement of a label selector (apimachinery `labels.Requirement`).
struct Requirement {
  enum class Op { equals, in, not_in, exists, does_not_exist };  ///< equals: a matchLabels entry
  std::string key;
  Op op = Op::in;
  std::vector<std::string> values;  ///< sorted; empty for exists / does_not_exist
  bool operator==(const Requirement&) const = default;
};

/// A metav1.LabelSelector: matchLabels entries become `equals` requirements, printed `k=v`.
struct LabelSelector {
  std::vector<Requirement> reqs;  ///< sorted by key (then by text, so that ties stay deterministic)
  /// The canonical string (kube spec §4.4): "" for the empty selector, which matches everything.
  std::string key() const;
  bool matches(const Labels& labels) const;
  bool operator==(const LabelSelector&) const = default;
};

struct Namespace {
  std::string name;
  std::string uid;
  Labels labels;
  bool operator==(const Namespace&) const = default;
};

struct ContainerPort {
  std::string name;      ///< "" when unnamed
  std::string protocol;  ///< TCP, UDP or SCTP
  std::uint16_t port = 0;
  bool operator==(const ContainerPort&) const = default;
};

struct Pod {
  std::string ns;
  std::string name;
  std::string uid;
  Labels labels;
  /// Set when the pod "has an IP" (§4.6): phase not Succeeded/Failed, podIP an IPv4 address, not
  /// hostNetwork. Pods without one are remembered but appear in no set.
  std::optional<Ipv4> ip;
  std::vector<ContainerPort> ports;  ///< every container's ports (named ports resolve here)
  bool operator==(const Pod&) const = default;
};

struct IpBlock {
  std::string cidr;                 ///< as given (validated)
  std::vector<std::string> except;  ///< sorted, as Weave sorts them in place
  bool operator==(const IpBlock&) const = default;
};

struct Peer {
  std::optional<LabelSelector> pods;
  std::optional<LabelSelector> namespaces;
  std::optional<IpBlock> block;
  bool operator==(const Peer&) const = default;
};

struct PolicyPort {
  std::string protocol = "TCP";
  std::optional<std::uint16_t> port;      ///< numeric port
  std::string named;                      ///< named port ("" when numeric or absent)
  std::optional<std::uint16_t> end_port;  ///< networking/v1 endPort (a range port..end_port)
  bool operator==(const PolicyPort&) const = default;
};

struct PolicyRule {
  std::vector<PolicyPort> ports;  ///< empty: every protocol and port
  std::vector<Peer> peers;        ///< empty: anywhere
  bool operator==(const PolicyRule&) const = default;
};

struct NetworkPolicy {
  std::string ns;
  std::string name;
  std::string uid;
  LabelSelector target;  ///< spec.podSelector
  bool ingress = false;  ///< "Ingress" in policyTypes
  bool egress = false;   ///< "Egress" in policyTypes
  std::vector<PolicyRule> ingress_rules;
  std::vector<PolicyRule> egress_rules;
  bool operator==(const NetworkPolicy&) const = default;
};

/// Everything the controller knows. Keys: namespace name; "ns/name" for pods and policies.
struct Cluster {
  std::map<std::string, Namespace> namespaces;
  std::map<std::string, Pod> pods;
  std::map<std::string, NetworkPolicy> policies;

  static std::string key(const std::string& ns, const std::string& name) { return ns + "/" + name; }
};

}  // namespace weft::npc
