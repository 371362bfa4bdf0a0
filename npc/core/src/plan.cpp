#include "weft/npc/plan.hpp"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "weft/npc/short_name.hpp"

namespace weft::npc {

namespace {

constexpr const char* kMark = "0x40000/0x40000";

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// iptables' comment match keeps at most 255 bytes; quotes would end the restore token.
std::string comment_arg(std::string text) {
  std::replace(text.begin(), text.end(), '"', '\'');
  if (text.size() > 255) text.resize(255);
  return fmt::format("-m comment --comment \"{}\"", text);
}

std::string pod_comment(const Pod& p) { return fmt::format("namespace: {}, pod: {}", p.ns, p.name); }

struct Match {
  std::string args;     ///< "" for anywhere
  std::string comment;
};

class Builder {
 public:
  Builder(const Cluster& c, const PlanOptions& o) : c_(c), o_(o) {
    for (const auto& [_, pod] : c.pods) {
      if (pod.ip) pods_by_ns_[pod.ns].push_back(&pod);
    }
    for (const auto& ch : npc_chains()) plan_.chains[ch];
  }

  Plan build() {
    base_rules();
    for (const auto& [name, ns] : c_.namespaces) namespace_state(ns);
    for (const auto& [_, pol] : c_.policies) policy(pol);
    return std::move(plan_);
  }

 private:
  void rule(const std::string& chain, std::string text) {
    if (seen_[chain].insert(text).second) plan_.chains[chain].push_back(std::move(text));
  }

  /// The set for `from`, created empty with `type` on first use; `fresh` tells whether it was.
  IpSet& set(const std::string& from, const char* type, bool* fresh = nullptr) {
    auto name = ipset_name(from);
    auto [it, inserted] = plan_.sets.try_emplace(name);
    if (inserted) {
      it->second.name = name;
      it->second.type = type;
      it->second.from = from;
    }
    if (fresh != nullptr) *fresh = inserted;
    return it->second;
  }

  const std::vector<const Pod*>& pods_in(const std::string& ns) const {
    static const std::vector<const Pod*> none;
    auto it = pods_by_ns_.find(ns);
    return it == pods_by_ns_.end() ? none : it->second;
  }

  void base_rules() {
    const auto& port = o_.bridge_port_name;
    rule(kChainMain, "-m state --state RELATED,ESTABLISHED -j ACCEPT");
    if (o_.allow_mcast) rule(kChainMain, "-d 224.0.0.0/4 -j ACCEPT");
    rule(kChainMain, fmt::format("-m physdev --physdev-is-bridged --physdev-out {} -j ACCEPT", port));
    rule(kChainMain, fmt::format("-m state --state NEW -j {}", kChainDefault));
    rule(kChainMain, fmt::format("-m state --state NEW -j {}", kChainIngress));

    rule(kChainEgress, "-m state --state RELATED,ESTABLISHED -j ACCEPT");
    rule(kChainEgress, fmt::format("-m physdev --physdev-is-bridged --physdev-in {} -j RETURN", port));
    rule(kChainEgress, "-m addrtype --dst-type LOCAL -j RETURN");
    if (o_.allow_mcast) rule(kChainEgress, "-d 224.0.0.0/4 -j RETURN");
    rule(kChainEgress, fmt::format("-m state --state NEW -j {}", kChainEgressDefault));
    rule(kChainEgress, fmt::format("-m state --state NEW -m mark ! --mark {} -j {}", kMark, kChainEgressCustom));
    // The NFLOG+DROP tail exists while some policy isolates egress (Weave added it on the first
    // egress policy and never removed it).
    const bool any_egress = std::any_of(c_.policies.begin(), c_.policies.end(),
                                        [](const auto& p) { return p.second.egress; });
    if (any_egress) {
      rule(kChainEgress,
           fmt::format("-m state --state NEW -m mark ! --mark {} -j NFLOG --nflog-group {}", kMark, kNflogGroup));
      rule(kChainEgress, fmt::format("-m mark ! --mark {} -j DROP", kMark));
    }
    rule(kChainEgressAccept, fmt::format("-j MARK --set-xmark {}", kMark));
  }

  void namespace_state(const Namespace& ns) {
    auto& all = set(ns.name + ":", "hash:ip");
    auto& ida = set("ingress-default-allow:" + ns.name, "hash:ip");
    auto& eda = set("egress-default-allow:" + ns.name, "hash:ip");
    std::vector<const LabelSelector*> in_targets, eg_targets;
    for (const auto& [_, pol] : c_.policies) {
      if (pol.ns != ns.name) continue;
      if (pol.ingress) in_targets.push_back(&pol.target);
      if (pol.egress) eg_targets.push_back(&pol.target);
    }
    auto targeted = [](const std::vector<const LabelSelector*>& sels, const Pod& p) {
      return std::any_of(sels.begin(), sels.end(), [&](const LabelSelector* s) { return s->matches(p.labels); });
    };
    for (const Pod* p : pods_in(ns.name)) {
      const auto ip = p->ip->str();
      all.entries.try_emplace(ip, pod_comment(*p));
      if (!targeted(in_targets, *p)) ida.entries.try_emplace(ip, pod_comment(*p));
      if (!targeted(eg_targets, *p)) eda.entries.try_emplace(ip, pod_comment(*p));
    }
    rule(kChainDefault, fmt::format("-m set --match-set {} dst {} -j ACCEPT", ida.name,
                                    comment_arg("DefaultAllow ingress isolation for namespace: " + ns.name)));
    const auto egress_comment = comment_arg("DefaultAllow egress isolation for namespace: " + ns.name);
    rule(kChainEgressDefault,
         fmt::format("-m set --match-set {} src {} -j {}", eda.name, egress_comment, kChainEgressAccept));
    rule(kChainEgressDefault, fmt::format("-m set --match-set {} src {} -j RETURN", eda.name, egress_comment));
  }

  /// The hash:ip set of pods in `ns` matching `sel` (shared by targets and peers).
  const IpSet& pod_set(const std::string& ns, const LabelSelector& sel) {
    bool fresh = false;
    auto& s = set(ns + ":" + sel.key(), "hash:ip", &fresh);
    if (fresh) {
      for (const Pod* p : pods_in(ns)) {
        if (sel.matches(p->labels)) s.entries.try_emplace(p->ip->str(), pod_comment(*p));
      }
    }
    return s;
  }

  std::vector<const Namespace*> namespaces_matching(const LabelSelector& sel) const {
    std::vector<const Namespace*> out;
    for (const auto& [_, ns] : c_.namespaces) {
      if (sel.matches(ns.labels)) out.push_back(&ns);
    }
    return out;
  }

  Match peer_match(const std::string& policy_ns, const Peer& peer, const char* dir, const char* addr_flag) {
    if (peer.block) {
      const auto& b = *peer.block;
      if (b.except.empty()) return {fmt::format("{} {}", addr_flag, b.cidr), "cidr: " + b.cidr};
      bool fresh = false;
      auto& s = set(fmt::format("{}:ipblock-except:{}", policy_ns, fmt::join(b.except, " ")), "hash:net", &fresh);
      if (fresh) {
        for (const auto& e : b.except) s.entries.try_emplace(Cidr::parse(e)->network().str(), "excepted from " + b.cidr);
      }
      return {fmt::format("{} {} -m set ! --match-set {} {}", addr_flag, b.cidr, s.name, dir),
              fmt::format("cidr: {} except [{}]", b.cidr, fmt::join(b.except, " "))};
    }
    // NB: an empty podSelector beside a namespaceSelector means every pod of those namespaces, the
    // namespace-only peer. Weave built a hash:ip set for it under the very name of that list:set.
    if (peer.pods && peer.namespaces && !peer.pods->reqs.empty()) {
      const auto nskey = peer.namespaces->key(), podkey = peer.pods->key();
      bool fresh = false;
      auto& s = set(":" + nskey + podkey, "hash:ip", &fresh);
      if (fresh) {
        for (const Namespace* ns : namespaces_matching(*peer.namespaces)) {
          for (const Pod* p : pods_in(ns->name)) {
            if (peer.pods->matches(p->labels)) s.entries.try_emplace(p->ip->str(), pod_comment(*p));
          }
        }
      }
      return {fmt::format("-m set --match-set {} {}", s.name, dir), "namespaces: selector: " + nskey + podkey};
    }
    if (peer.pods && !peer.namespaces) {
      const auto& s = pod_set(policy_ns, *peer.pods);
      return {fmt::format("-m set --match-set {} {}", s.name, dir),
              fmt::format("pods: namespace: {}, selector: {}", policy_ns, peer.pods->key())};
    }
    const auto nskey = peer.namespaces->key();
    bool fresh = false;
    auto& s = set(":" + nskey, "list:set", &fresh);
    if (fresh) {
      s.list_size = o_.max_list_size;
      for (const Namespace* ns : namespaces_matching(*peer.namespaces)) {
        if (s.entries.size() >= o_.max_list_size) {
          plan_.notes.push_back(fmt::format("namespace selector {:?} matches more than --max-list-size={} namespaces; "
                                            "namespace {} and later are left out",
                                            nskey, o_.max_list_size, ns->name));
          break;
        }
        s.entries.try_emplace(ipset_name(ns->name + ":"), "namespace: " + ns->name);
      }
    }
    return {fmt::format("-m set --match-set {} {}", s.name, dir), "namespaces: selector: " + nskey};
  }

  /// The hash:ip,port set of every pod whose containers name `name` for `protocol` (weft resolves
  /// named ports; Weave rejected such policies).
  const IpSet& named_port_set(const std::string& protocol, const std::string& name) {
    bool fresh = false;
    auto& s = set(fmt::format("namedport:{}:{}", protocol, name), "hash:ip,port", &fresh);
    if (fresh) {
      for (const auto& [_, pod] : c_.pods) {
        if (!pod.ip) continue;
        for (const auto& cp : pod.ports) {
          if (cp.name == name && cp.protocol == protocol) {
            s.entries.try_emplace(fmt::format("{},{}:{}", pod.ip->str(), lower(protocol), cp.port), pod_comment(pod));
          }
        }
      }
    }
    return s;
  }

  struct PortParts {
    std::string proto;  ///< "-p TCP" or ""
    std::string tail;   ///< "--dport 80", a named-port set match, or ""
  };

  PortParts port_parts(const PolicyPort* port) {
    if (port == nullptr) return {};
    PortParts out{"-p " + port->protocol, ""};
    if (!port->named.empty()) {
      out.tail = fmt::format("-m set --match-set {} dst,dst", named_port_set(port->protocol, port->named).name);
    } else if (!port->port) {
      out.tail = "--dport 0:65535";
    } else if (port->end_port && *port->end_port != *port->port) {
      out.tail = fmt::format("--dport {}:{}", *port->port, *port->end_port);
    } else {
      out.tail = fmt::format("--dport {}", *port->port);
    }
    return out;
  }

  static std::string join_args(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts) {
      if (p.empty()) continue;
      if (!out.empty()) out += ' ';
      out += p;
    }
    return out;
  }

  void policy(const NetworkPolicy& pol) {
    const std::string target_comment = fmt::format("pods: namespace: {}, selector: {}", pol.ns, pol.target.key());
    const std::string target = (pol.ingress || pol.egress) ? pod_set(pol.ns, pol.target).name : std::string();
    auto each = [&](const std::vector<PolicyRule>& rules, const char* dir, const char* flag, auto&& emit) {
      for (const auto& r : rules) {
        std::vector<const Peer*> peers;
        for (const auto& p : r.peers) peers.push_back(&p);
        if (peers.empty()) peers.push_back(nullptr);
        std::vector<const PolicyPort*> ports;
        for (const auto& p : r.ports) ports.push_back(&p);
        if (ports.empty()) ports.push_back(nullptr);
        for (const Peer* peer : peers) {
          Match m = peer == nullptr ? Match{"", "anywhere"} : peer_match(pol.ns, *peer, dir, flag);
          for (const PolicyPort* port : ports) emit(m, port_parts(port));
        }
      }
    };
    if (pol.ingress) {
      each(pol.ingress_rules, "src", "-s", [&](const Match& m, const PortParts& pp) {
        const auto dst = fmt::format("-m set --match-set {} dst", target);
        const auto c = comment_arg(fmt::format("{} -> {} (ingress)", m.comment, target_comment));
        rule(kChainIngress, join_args({pp.proto, m.args, dst, pp.tail, c, "-j ACCEPT"}));
      });
    }
    if (pol.egress) {
      each(pol.egress_rules, "dst", "-d", [&](const Match& m, const PortParts& pp) {
        const auto src = fmt::format("-m set --match-set {} src", target);
        const auto c = comment_arg(fmt::format("{} -> {} (egress)", target_comment, m.comment));
        const auto spec = join_args({pp.proto, src, m.args, pp.tail, c});
        rule(kChainEgressCustom, spec + " -j " + kChainEgressAccept);
        rule(kChainEgressCustom, spec + " -j RETURN");
      });
    }
  }

  const Cluster& c_;
  PlanOptions o_;
  Plan plan_;
  std::map<std::string, std::vector<const Pod*>> pods_by_ns_;
  std::map<std::string, std::unordered_set<std::string>> seen_;
};

}  // namespace

Plan compute_plan(const Cluster& cluster, const PlanOptions& options) { return Builder(cluster, options).build(); }

}  // namespace weft::npc
