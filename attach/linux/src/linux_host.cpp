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

/// One router call as Weave's proxy made it: a form body, no timeout (allocations wait for
/// space). A non-2xx answer is an error carrying the body (or the status).
Result<std::string> router_call(const http::Endpoint& api, const std::string& method, const std::string& target,
                                std::string body) {
  http::ClientOptions opt;
  opt.timeout = std::nullopt;
  auto r = http::request(api,
                         {.method = method,
                          .target = target,
                          .body = std::move(body),
                          .content_type = "application/x-www-form-urlencoded"},
                         opt);
  if (!r) return Error{r.error().message};
  std::string b = r->body;
  while (!b.empty() && (b.back() == '\n' || b.back() == '\r')) b.pop_back();
  if (r->status / 100 != 2) return Error{b.empty() ? fmt::format("status {}", r->status) : b};
  return b;
}

}  // namespace

Result<const host::Netns*> LinuxAttachHost::netns() {
  if (cfg_.netns) return cfg_.netns;
  if (!owned_) {
    WEFT_TRY(ns, host::Netns::open(cfg_.netns_path));
    owned_ = std::move(ns);
  }
  return &*owned_;
}

Result<std::vector<Cidr>> LinuxAttachHost::ipam(const IpamRequest& req) {
  if (!cfg_.router) return make_error("no router API to allocate from");
  std::string body = req.check_alive ? http::form_body({{"check-alive", "true"}}) : "";
  Result<std::string> got = Error{""};
  if (req.kind == IpamRequest::Kind::claim && req.cidr) {
    got = router_call(*cfg_.router, "PUT", fmt::format("/ip/{}/{}", req.ident, req.cidr->str()), body);
    if (got) got = req.cidr->str();
  } else if (req.cidr) {
    got = router_call(*cfg_.router, "POST", fmt::format("/ip/{}/{}", req.ident, req.cidr->str()), body);
  } else {
    got = router_call(*cfg_.router, "POST", "/ip/" + req.ident, body);
  }
  if (!got) return got.error();
  if (*got == "cancelled") return make_error("allocation cancelled");
  std::vector<Cidr> out;
  std::istringstream words(*got);
  std::string w;
  while (words >> w) {
    auto cidr = Cidr::parse(w);
    if (!cidr) return make_error("unexpected answer {}", *got);
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
  if (!cfg_.router) return make_error("no router API to register names with");
  std::string errors;
  for (const auto& n : names) {
    auto r = router_call(*cfg_.router, "PUT", fmt::format("/name/{}/{}", ident, n.ip.str()),
                         http::form_body({{"fqdn", n.fqdn}}));
    if (!r)
      errors += fmt::format("{}registering {} in weaveDNS: {}", errors.empty() ? "" : "; ", n.fqdn, r.error().message);
  }
  if (!errors.empty()) return Error{errors};
  return {};
}

}  // namespace weft::attach
