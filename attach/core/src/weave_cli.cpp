// `weave attach` / `weave detach` as attach plans (see weave_cli.hpp).
#include "weft/attach/weave_cli.hpp"

namespace weft::attach {
namespace {

/// CMD's address arguments (none: net:default); CMD must name its container.
Result<std::vector<AddrSpec>> parse_specs(const WeaveCommand& cmd) {
  if (cmd.ident.empty()) return make_error("no container identity");
  std::vector<AddrSpec> out;
  for (const auto& a : cmd.addr_args) {
    auto s = parse_addr_spec(a);
    if (!s) return make_error("invalid address argument '{}' (net:default, net:CIDR, ip:CIDR or CIDR)", a);
    out.push_back(*s);
  }
  if (out.empty()) out.push_back(*parse_addr_spec("net:default"));
  return out;
}

}  // namespace

std::optional<AddrSpec> parse_addr_spec(std::string_view w) {
  if (w == "net:default") return AddrSpec{AddrSpec::Kind::net_default, Cidr(), std::string(w)};
  AddrSpec s{AddrSpec::Kind::ip, Cidr(), std::string(w)};
  std::string_view c = w;
  if (w.starts_with("net:")) {
    s.kind = AddrSpec::Kind::net;
    c.remove_prefix(4);
  } else if (w.starts_with("ip:")) {
    c.remove_prefix(3);
  }
  auto cidr = Cidr::parse(c);
  if (!cidr) return std::nullopt;
  s.cidr = *cidr;
  return s;
}

Result<Request> weave_attach_request(const WeaveCommand& cmd) {
  WEFT_TRY(specs, parse_specs(cmd));
  Request rq{.ident = cmd.ident, .specs = std::move(specs), .check_alive = true};
  rq.claim_in_ipam = cmd.router_running;
  rq.veth = VethStep{.bridge = cmd.bridge, .veth_id = cmd.veth_id};
  rq.multicast_route = cmd.multicast_route;
  if (!cmd.without_dns && cmd.router_running) rq.fqdn = cmd.fqdn;
  return rq;
}

Result<DetachPlan> weave_detach_plan(const WeaveCommand& cmd) {
  WEFT_TRY(specs, parse_specs(cmd));
  DetachPlan p{.ident = cmd.ident, .fqdn = cmd.fqdn, .router_running = cmd.router_running};
  for (const auto& s : specs) {
    if (s.kind == AddrSpec::Kind::ip) {
      p.fixed.push_back(s.cidr);
      continue;
    }
    p.fixed.push_back(std::nullopt);
    p.lookups.push_back({.kind = IpamRequest::Kind::lookup,
                         .ident = cmd.ident,
                         .cidr = s.kind == AddrSpec::Kind::net ? std::optional(s.cidr) : std::nullopt,
                         .check_alive = false,
                         .label = s.text});
  }
  return p;
}

DetachSteps detach_steps(const DetachPlan& plan, const std::vector<std::vector<Cidr>>& looked_up) {
  DetachSteps s;
  std::size_t next = 0;
  for (const auto& f : plan.fixed) {
    if (f) {
      s.addresses.push_back(*f);
      continue;
    }
    if (next >= looked_up.size()) continue;
    const auto& got = looked_up[next++];
    s.addresses.insert(s.addresses.end(), got.begin(), got.end());
    s.release.insert(s.release.end(), got.begin(), got.end());
  }
  if (!plan.router_running) {
    s.release.clear();
    return s;
  }
  if (!plan.fqdn.empty()) {
    for (const auto& c : s.addresses) s.names.push_back({plan.fqdn, c.addr()});
  }
  return s;
}

std::string netns_file(const std::string& arg) {
  if (arg.starts_with("netns:")) return "/run/netns/" + arg.substr(6);
  if (arg.starts_with("pid:")) return "/proc/" + arg.substr(4) + "/ns/net";
  return arg;
}

std::string show_addrs(const std::vector<Cidr>& cidrs) {
  std::string out;
  for (const auto& c : cidrs) out += (out.empty() ? "" : " ") + c.addr().str();
  return out;
}

}  // namespace weft::attach
