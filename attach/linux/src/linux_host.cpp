// The real host's attach steps (see linux_host.hpp).
#include "weft/attach/linux_host.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "weft/datapath/linux/container_attach.hpp"
#include "weft/datapath/linux/iptables.hpp"
#include "weft/datapath/linux/rtnl.hpp"

namespace weft::attach {
namespace host = weft::datapath::host;

namespace {

/// One router call as Weave's proxy and script make it: a form body, and no timeout unless
/// TIMEOUT (allocations wait for space). Fails only when no HTTP answer came.
Result<RouterAnswer> router_call(const http::Endpoint& api, const std::string& method, const std::string& target,
                                 std::string body, std::optional<std::chrono::milliseconds> timeout) {
  http::ClientOptions opt;
  opt.timeout = timeout;
  auto r = http::request(api,
                         {.method = method,
                          .target = target,
                          .body = std::move(body),
                          .content_type = "application/x-www-form-urlencoded"},
                         opt);
  if (!r) return Error{r.error().message};
  std::string b = r->body;
  while (!b.empty() && (b.back() == '\n' || b.back() == '\r')) b.pop_back();
  return RouterAnswer{r->status, std::move(b)};
}

}  // namespace

Error RouterAnswer::error() const { return Error{body.empty() ? fmt::format("status {}", status) : body}; }

Result<const host::Netns*> LinuxAttachHost::netns() {
  if (cfg_.netns) return cfg_.netns;
  if (!owned_) {
    WEFT_TRY(ns, host::Netns::open(cfg_.netns_path));
    owned_ = std::move(ns);
  }
  return &*owned_;
}

Result<RouterAnswer> LinuxAttachHost::call(const std::string& method, const std::string& target, std::string body) {
  if (!cfg_.router) return make_error("no router API to call");
  return router_call(*cfg_.router, method, target, std::move(body), cfg_.timeout);
}

Result<std::vector<Cidr>> LinuxAttachHost::ipam(const IpamRequest& req) {
  std::string body = req.check_alive ? http::form_body({{"check-alive", "true"}}) : "";
  std::string target = "/ip/" + req.ident;
  if (req.cidr) target += "/" + req.cidr->str();
  std::string method = "POST";
  if (req.kind == IpamRequest::Kind::claim) method = "PUT";
  if (req.kind == IpamRequest::Kind::lookup) method = "GET";
  if (req.kind == IpamRequest::Kind::given || (req.kind == IpamRequest::Kind::claim && !req.cidr)) {
    return make_error("no IPAM call for {}", req.label);
  }
  WEFT_TRY(got, call(method, target, std::move(body)));
  // 404: the router runs without IPAM (Weave's script messages).
  if (got.status == 404) {
    if (req.kind == IpamRequest::Kind::claim) return std::vector<Cidr>{*req.cidr};
    if (req.kind == IpamRequest::Kind::lookup) {
      return make_error("No IP address found for {}{}", req.ident, req.cidr ? req.cidr->str() : "");
    }
    return make_error("IP address allocation must be enabled to use 'net:'");
  }
  if (!got.ok()) return got.error();
  if (req.kind == IpamRequest::Kind::claim) return std::vector<Cidr>{*req.cidr};
  if (got.body == "cancelled") return make_error("allocation cancelled");
  std::vector<Cidr> out;
  std::istringstream words(got.body);
  std::string w;
  while (words >> w) {
    auto cidr = Cidr::parse(w);
    if (!cidr) return make_error("unexpected answer {}", got.body);
    out.push_back(*cidr);
  }
  return out;
}

Result<void> LinuxAttachHost::write_hosts(const std::string& text) {
  if (cfg_.root_path.empty()) return make_error("no container root to write /etc/hosts in");
  std::ofstream f(cfg_.root_path + "/etc/hosts", std::ios::trunc);
  if (f) f << text;
  if (!f) return make_error("could not write {}/etc/hosts", cfg_.root_path);
  return {};
}

Result<LinkState> LinuxAttachHost::link(const VethStep& veth, std::span<const Cidr> addresses, bool garp,
                                        bool multicast_route) {
  WEFT_TRY(ns, netns());
  host::AttachSpec spec;
  spec.bridge = veth.bridge;
  spec.veth_id = veth.veth_id;
  spec.cidrs.assign(addresses.begin(), addresses.end());
  spec.ifname = veth.ifname;
  spec.mtu = veth.mtu;
  spec.hairpin = veth.hairpin;
  spec.keep_tx_on = veth.keep_tx_on;
  spec.gratuitous_arp = garp;
  spec.multicast_route = multicast_route;
  WEFT_TRY(iface, host::attach_container(*ns, spec, cfg_.log));
  return LinkState{iface.name, iface.mac, iface.cidrs};
}

Result<void> LinuxAttachHost::pod_multicast_rules(const std::string& ifname, const Cidr& subnet) {
  WEFT_TRY(ns, netns());
  host::RulePlan plan;
  plan.top.push_back({"filter", "INPUT", fmt::format("-i {} -s {} -d 224.0.0.0/4 -j ACCEPT", ifname, subnet)});
  plan.append.push_back({"filter", "INPUT", fmt::format("-i {} -d 224.0.0.0/4 -j DROP", ifname)});
  return host::in_netns(*ns, [&] { return host::Iptables().apply(plan); });
}

Result<void> LinuxAttachHost::add_route(const std::string& ifname, const RouteStep& route) {
  WEFT_TRY(ns, netns());
  WEFT_TRY(guest, host::Rtnl::open(ns));
  return guest.add_route(route.dst.network(), ifname,
                         route.link_scope ? host::RouteScope::link : host::RouteScope::universe,
                         /*exist_ok=*/true, route.via);
}

Result<int> LinuxAttachHost::announce(const std::string& prefix) {
  WEFT_TRY(ns, netns());
  return host::announce_links(*ns, prefix);
}

Result<void> LinuxAttachHost::register_names(const std::string& ident, std::span<const DnsName> names) {
  if (cfg_.dns_sink) {
    cfg_.dns_sink(ident, std::vector<DnsName>(names.begin(), names.end()));
    return {};
  }
  std::string errors;
  for (const auto& n : names) {
    std::vector<std::pair<std::string, std::string>> form{{"fqdn", n.fqdn}};
    if (cfg_.names_check_alive) form.emplace_back("check-alive", "true");
    auto r = call("PUT", fmt::format("/name/{}/{}", ident, n.ip.str()), http::form_body(form));
    // 404: weaveDNS is off; nothing to register (as Weave's script).
    std::string why = !r ? r.error().message : (r->ok() || r->status == 404 ? "" : r->error().message);
    if (!why.empty()) {
      if (cfg_.dns_errors_bare) return Error{why};
      errors += fmt::format("{}registering {} in weaveDNS: {}", errors.empty() ? "" : "; ", n.fqdn, why);
    }
  }
  if (!errors.empty()) return Error{errors};
  return {};
}

Result<void> LinuxAttachHost::unlink(std::span<const Cidr> addresses) {
  WEFT_TRY(ns, netns());
  WEFT_TRY(deleted, host::detach_container(*ns, addresses));
  (void)deleted;
  return {};
}

Result<void> LinuxAttachHost::unregister_names(const std::string& ident, std::span<const DnsName> names) {
  std::optional<Error> first;  // every name is tried; the first failure is reported
  for (const auto& n : names) {
    auto target = fmt::format("/name/{}/{}?{}", ident, n.ip.str(), http::form_body({{"fqdn", n.fqdn}}));
    auto got = call("DELETE", target, "");
    if (!got && !first) first = got.error();
    if (got && !got->ok() && got->status != 404 && !first) first = got->error();
  }
  if (first) return *first;
  return {};
}

Result<void> LinuxAttachHost::release(const std::string& ident, const Cidr& address) {
  WEFT_TRY(got, call("DELETE", fmt::format("/ip/{}/{}", ident, address.addr().str()), ""));
  if (!got.ok() && got.status != 404) return got.error();
  return {};
}

}  // namespace weft::attach
