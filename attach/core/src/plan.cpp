// The attach plan (see plan.hpp).
#include "weft/attach/plan.hpp"

#include <fmt/format.h>

namespace weft::attach {
namespace {

std::string trim_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

IpamRequest ipam_for(const std::string& ident, const AddrSpec& s, bool check_alive, bool claim) {
  IpamRequest r{.kind = IpamRequest::Kind::allocate,
                .ident = ident,
                .cidr = std::nullopt,
                .check_alive = check_alive,
                .label = s.text};
  switch (s.kind) {
    case AddrSpec::Kind::net_default: break;
    case AddrSpec::Kind::net: r.cidr = s.cidr; break;
    case AddrSpec::Kind::ip:
      r.kind = claim ? IpamRequest::Kind::claim : IpamRequest::Kind::given;
      r.cidr = s.cidr;
      break;
  }
  return r;
}

}  // namespace

Plan plan(Request request) {
  Plan p;
  for (const auto& s : request.specs)
    p.ipam.push_back(ipam_for(request.ident, s, request.check_alive, request.claim_in_ipam));
  p.request = std::move(request);
  return p;
}

Steps complete(const Plan& plan, const std::vector<Cidr>& allocated) {
  const Request& rq = plan.request;
  Steps s;
  s.addresses = allocated;
  s.addresses.insert(s.addresses.end(), rq.addresses.begin(), rq.addresses.end());
  if (rq.hosts) {
    std::vector<Ipv4> ips;
    for (const auto& c : s.addresses) ips.push_back(c.addr());
    s.hosts_text = hosts_file(rq.hosts->hostname, rq.hosts->domainname, ips, rq.hosts->extra_hosts) + "\n";
  }
  s.veth = rq.veth;
  s.gratuitous_arp = rq.gratuitous_arp;
  s.multicast_route = rq.veth.has_value() && rq.multicast_route;
  if (rq.pod_multicast_rules && !s.addresses.empty()) s.pod_multicast_subnet = s.addresses.front().network();
  s.routes = rq.routes;
  s.announce_prefix = rq.announce_prefix;
  if (!rq.fqdn.empty()) {
    for (const auto& c : s.addresses) s.names.push_back({rq.fqdn, c.addr()});
  }
  s.names.insert(s.names.end(), rq.names.begin(), rq.names.end());
  return s;
}

std::string hosts_file(const std::string& hostname, const std::string& domainname, const std::vector<Ipv4>& ips,
                       const std::vector<std::string>& extra_hosts) {
  std::string out = "# created by Weave - BEGIN\n# container hostname\n";
  std::string domain = trim_dot(domainname);
  for (const auto& ip : ips) {
    if (domain.empty())
      out += fmt::format("{:<15} {}\n", ip.str(), hostname);
    else
      out += fmt::format("{:<15} {}.{} {}\n", ip.str(), hostname, domain, hostname);
  }
  if (!extra_hosts.empty()) {
    out += "\n# static names added with --add-host\n";
    for (const auto& e : extra_hosts) {
      auto colon = e.find(':');
      if (colon == std::string::npos) continue;
      out += fmt::format("{:<15} {}\n", e.substr(colon + 1), e.substr(0, colon));
    }
  }
  out +=
      "\n# default localhost entries\n"
      "127.0.0.1       localhost\n"
      "::1             ip6-localhost ip6-loopback\n"
      "fe00::0         ip6-localnet\n"
      "ff00::0         ip6-mcastprefix\n"
      "ff02::1         ip6-allnodes\n"
      "ff02::2         ip6-allrouters\n"
      "# created by Weave - END";
  return out;
}

std::vector<RouteStep> cni_routes(const Cidr& address, Ipv4 gw,
                                  const std::optional<std::vector<RouteStep>>& ipam_routes) {
  std::vector<RouteStep> out;
  if (!ipam_routes) {
    if (!address.contains(gw)) out.push_back({Cidr(gw, 32), std::nullopt, true});
    out.push_back({Cidr(Ipv4(0), 0), gw, false});
    return out;
  }
  for (const auto& rt : *ipam_routes) {
    std::optional<Ipv4> via = rt.via ? rt.via : (gw.value() != 0 ? std::optional<Ipv4>(gw) : std::nullopt);
    out.push_back({rt.dst.network(), via, false});
  }
  return out;
}

}  // namespace weft::attach
