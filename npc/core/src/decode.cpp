#include "weft/npc/decode.hpp"

#include <algorithm>

#include "weft/base/ipv4.hpp"

namespace weft::npc {

namespace {

using nlohmann::json;

const json* field(const json& j, const char* name) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> str_field(const json& j, const char* name, bool required) {
  const json* f = field(j, name);
  if (f == nullptr) {
    if (required) return make_error("missing field {}", name);
    return std::string();
  }
  if (!f->is_string()) return make_error("field {} is not a string", name);
  return f->get<std::string>();
}

Result<Labels> labels_of(const json& meta) {
  Labels out;
  const json* l = field(meta, "labels");
  if (l == nullptr) return out;
  if (!l->is_object()) return make_error("metadata.labels is not an object");
  for (auto it = l->begin(); it != l->end(); ++it) {
    if (!it.value().is_string()) return make_error("label {} is not a string", it.key());
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

struct Meta {
  std::string ns, name, uid;
  Labels labels;
};

Result<Meta> meta_of(const json& j, bool namespaced) {
  const json* m = field(j, "metadata");
  if (m == nullptr || !m->is_object()) return make_error("missing metadata");
  Meta out;
  WEFT_TRY(name, str_field(*m, "name", true));
  if (name.empty()) return make_error("empty metadata.name");
  out.name = std::move(name);
  WEFT_TRY(uid, str_field(*m, "uid", false));
  out.uid = std::move(uid);
  if (namespaced) {
    WEFT_TRY(ns, str_field(*m, "namespace", true));
    if (ns.empty()) return make_error("empty metadata.namespace");
    out.ns = std::move(ns);
  }
  WEFT_TRY(labels, labels_of(*m));
  out.labels = std::move(labels);
  return out;
}

Result<std::string> protocol_of(const json& j) {
  WEFT_TRY(p, str_field(j, "protocol", false));
  if (p.empty()) return std::string("TCP");
  if (p != "TCP" && p != "UDP" && p != "SCTP") return make_error("unsupported protocol {:?}", p);
  return p;
}

Result<std::uint16_t> port_number(const json& j, const char* what) {
  if (!j.is_number_integer()) return make_error("{} is not an integer", what);
  const auto v = j.get<std::int64_t>();
  if (v < 1 || v > 65535) return make_error("{} {} is out of range", what, v);
  return static_cast<std::uint16_t>(v);
}

Result<std::string> cidr_text(const json& j) {
  if (!j.is_string()) return make_error("ipBlock cidr is not a string");
  auto s = j.get<std::string>();
  if (!Cidr::parse(s)) return make_error("invalid CIDR {:?}", s);
  return s;
}

Result<Peer> decode_peer(const json& j) {
  if (!j.is_object()) return make_error("peer is not an object");
  Peer p;
  if (const json* s = field(j, "podSelector")) {
    WEFT_TRY(sel, decode_selector(*s));
    p.pods = std::move(sel);
  }
  if (const json* s = field(j, "namespaceSelector")) {
    WEFT_TRY(sel, decode_selector(*s));
    p.namespaces = std::move(sel);
  }
  if (const json* b = field(j, "ipBlock")) {
    if (p.pods || p.namespaces) return make_error("a peer with ipBlock may not have selectors");
    const json* c = field(*b, "cidr");
    if (c == nullptr) return make_error("ipBlock without cidr");
    IpBlock block;
    WEFT_TRY(cidr, cidr_text(*c));
    block.cidr = std::move(cidr);
    if (const json* e = field(*b, "except")) {
      if (!e->is_array()) return make_error("ipBlock except is not a list");
      for (const auto& x : *e) {
        WEFT_TRY(ex, cidr_text(x));
        if (Cidr::parse(ex)->prefix() == 0) return make_error("ipBlock except {} is /0", ex);
        block.except.push_back(std::move(ex));
      }
    }
    std::sort(block.except.begin(), block.except.end());
    p.block = std::move(block);
  }
  if (!p.pods && !p.namespaces && !p.block) return make_error("a peer needs a podSelector, namespaceSelector or ipBlock");
  return p;
}

Result<PolicyPort> decode_port(const json& j) {
  if (!j.is_object()) return make_error("port entry is not an object");
  PolicyPort out;
  WEFT_TRY(proto, protocol_of(j));
  out.protocol = std::move(proto);
  if (const json* p = field(j, "port")) {
    if (p->is_string()) {
      out.named = p->get<std::string>();
      if (out.named.empty() || out.named.size() > 15) return make_error("invalid named port {:?}", out.named);
    } else {
      WEFT_TRY(n, port_number(*p, "port"));
      out.port = n;
    }
  }
  if (const json* e = field(j, "endPort")) {
    if (!out.port) return make_error("endPort needs a numeric port");
    WEFT_TRY(n, port_number(*e, "endPort"));
    if (n < *out.port) return make_error("endPort {} is below port {}", n, *out.port);
    out.end_port = n;
  }
  return out;
}

Result<std::vector<PolicyRule>> decode_rules(const json& spec, const char* list, const char* peers) {
  std::vector<PolicyRule> out;
  const json* rules = field(spec, list);
  if (rules == nullptr) return out;
  if (!rules->is_array()) return make_error("spec.{} is not a list", list);
  for (const auto& r : *rules) {
    if (!r.is_object()) return make_error("a {} rule is not an object", list);
    PolicyRule rule;
    if (const json* ports = field(r, "ports")) {
      if (!ports->is_array()) return make_error("ports is not a list");
      for (const auto& p : *ports) {
        WEFT_TRY(port, decode_port(p));
        rule.ports.push_back(std::move(port));
      }
    }
    if (const json* ps = field(r, peers)) {
      if (!ps->is_array()) return make_error("{} is not a list", peers);
      for (const auto& p : *ps) {
        WEFT_TRY(peer, decode_peer(p));
        rule.peers.push_back(std::move(peer));
      }
    }
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace

Result<LabelSelector> decode_selector(const json& j) {
  if (!j.is_object()) return make_error("label selector is not an object");
  LabelSelector sel;
  if (const json* ml = field(j, "matchLabels")) {
    if (!ml->is_object()) return make_error("matchLabels is not an object");
    for (auto it = ml->begin(); it != ml->end(); ++it) {
      if (!it.value().is_string()) return make_error("matchLabels value of {} is not a string", it.key());
      sel.reqs.push_back({it.key(), Requirement::Op::equals, {it.value().get<std::string>()}});
    }
  }
  if (const json* me = field(j, "matchExpressions")) {
    if (!me->is_array()) return make_error("matchExpressions is not a list");
    for (const auto& e : *me) {
      if (!e.is_object()) return make_error("a match expression is not an object");
      WEFT_TRY(key, str_field(e, "key", true));
      WEFT_TRY(op, str_field(e, "operator", true));
      Requirement r{key, Requirement::Op::in, {}};
      if (const json* vs = field(e, "values")) {
        if (!vs->is_array()) return make_error("values of {} is not a list", key);
        for (const auto& v : *vs) {
          if (!v.is_string()) return make_error("a value of {} is not a string", key);
          r.values.push_back(v.get<std::string>());
        }
      }
      if (op == "In" || op == "NotIn") {
        r.op = op == "In" ? Requirement::Op::in : Requirement::Op::not_in;
        if (r.values.empty()) return make_error("operator {} on {} needs values", op, key);
      } else if (op == "Exists" || op == "DoesNotExist") {
        r.op = op == "Exists" ? Requirement::Op::exists : Requirement::Op::does_not_exist;
        if (!r.values.empty()) return make_error("operator {} on {} takes no values", op, key);
      } else {
        return make_error("unknown selector operator {:?}", op);
      }
      std::sort(r.values.begin(), r.values.end());
      r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
      sel.reqs.push_back(std::move(r));
    }
  }
  // NB: apimachinery sorts by key only (unstable); ties are ordered by text here so that one
  // selector always gives one key.
  std::sort(sel.reqs.begin(), sel.reqs.end(), [](const Requirement& a, const Requirement& b) {
    if (a.key != b.key) return a.key < b.key;
    LabelSelector la{{a}}, lb{{b}};
    return la.key() < lb.key();
  });
  return sel;
}

Result<Namespace> decode_namespace(const json& j) {
  WEFT_TRY(m, meta_of(j, false));
  return Namespace{m.name, m.uid, m.labels};
}

Result<Pod> decode_pod(const json& j) {
  WEFT_TRY(m, meta_of(j, true));
  Pod p{m.ns, m.name, m.uid, m.labels, std::nullopt, {}};
  const json* spec = field(j, "spec");
  const json* status = field(j, "status");
  bool host_network = false;
  if (spec != nullptr) {
    if (const json* hn = field(*spec, "hostNetwork")) {
      if (!hn->is_boolean()) return make_error("spec.hostNetwork is not a boolean");
      host_network = hn->get<bool>();
    }
    if (const json* cs = field(*spec, "containers")) {
      if (!cs->is_array()) return make_error("spec.containers is not a list");
      for (const auto& c : *cs) {
        const json* ports = field(c, "ports");
        if (ports == nullptr) continue;
        if (!ports->is_array()) return make_error("container ports is not a list");
        for (const auto& cp : *ports) {
          if (!cp.is_object()) return make_error("a container port is not an object");
          const json* n = field(cp, "containerPort");
          if (n == nullptr) return make_error("a container port has no containerPort");
          WEFT_TRY(num, port_number(*n, "containerPort"));
          WEFT_TRY(name, str_field(cp, "name", false));
          WEFT_TRY(proto, protocol_of(cp));
          p.ports.push_back({name, proto, num});
        }
      }
    }
  }
  if (status != nullptr) {
    WEFT_TRY(phase, str_field(*status, "phase", false));
    WEFT_TRY(ip, str_field(*status, "podIP", false));
    // IPv6 pod addresses are ignored: Weave's sets are IPv4 (family inet).
    if (phase != "Succeeded" && phase != "Failed" && !host_network && !ip.empty()) p.ip = Ipv4::parse(ip);
  }
  return p;
}

Result<NetworkPolicy> decode_policy(const json& j) {
  WEFT_TRY(m, meta_of(j, true));
  NetworkPolicy p;
  p.ns = m.ns;
  p.name = m.name;
  p.uid = m.uid;
  const json* spec = field(j, "spec");
  if (spec == nullptr || !spec->is_object()) return make_error("policy {}/{} has no spec", m.ns, m.name);
  if (const json* s = field(*spec, "podSelector")) {
    WEFT_TRY(sel, decode_selector(*s));
    p.target = std::move(sel);
  }
  if (const json* types = field(*spec, "policyTypes")) {
    if (!types->is_array()) return make_error("policyTypes is not a list");
    for (const auto& t : *types) {
      if (t == "Ingress") {
        p.ingress = true;
      } else if (t == "Egress") {
        p.egress = true;
      } else {
        return make_error("unknown policy type {}", t.dump());
      }
    }
  } else {
    // The API server's defaulting, for objects that skipped it: Ingress always, Egress when
    // there is an egress section.
    p.ingress = true;
    p.egress = field(*spec, "egress") != nullptr;
  }
  WEFT_TRY(ingress, decode_rules(*spec, "ingress", "from"));
  WEFT_TRY(egress, decode_rules(*spec, "egress", "to"));
  p.ingress_rules = std::move(ingress);
  p.egress_rules = std::move(egress);
  return p;
}

}  // namespace weft::npc
