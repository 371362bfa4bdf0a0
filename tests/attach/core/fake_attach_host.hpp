#pragma once
// FakeAttachHost: the in-memory twin of attach::AttachHost. It records every call as a line
// ("ipam POST /ip/c1", "link ethwe vethwepl42 10.32.0.1/12 garp mcast", ...), answers IPAM from
// a queue, and fails the steps a test names.
#include <fmt/format.h>

#include <concepts>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "weft/attach/executor.hpp"

namespace weft::attach {

class FakeAttachHost final : public AttachHost {
 public:
  std::vector<std::string> calls;
  std::deque<std::vector<Cidr>> ipam_answers;  ///< one per ipam call; empty queue: 10.32.0.N/12
  std::map<Step, std::string> fail;            ///< steps that answer this error
  std::string hosts;                           ///< the last hosts text written
  std::vector<DnsName> names;                  ///< every name registered
  int next_ip = 1;

  Result<std::vector<Cidr>> ipam(const IpamRequest& r) override {
    const char* verb = r.kind == IpamRequest::Kind::claim    ? "PUT"
                       : r.kind == IpamRequest::Kind::lookup ? "GET"
                                                             : "POST";
    calls.push_back(fmt::format("ipam {} /ip/{}{}{}", verb, r.ident, r.cidr ? "/" + r.cidr->str() : "",
                                r.check_alive ? " check-alive" : ""));
    if (auto e = failure(Step::ipam)) return *e;
    if (!ipam_answers.empty()) {
      auto a = ipam_answers.front();
      ipam_answers.pop_front();
      return a;
    }
    if (r.kind == IpamRequest::Kind::claim) return std::vector<Cidr>{*r.cidr};
    return std::vector<Cidr>{Cidr(Ipv4(0x0A200000 + next_ip++), 12)};
  }
  Result<void> write_hosts(const std::string& text) override {
    calls.push_back("hosts");
    if (auto e = failure(Step::hosts)) return *e;
    hosts = text;
    return {};
  }
  Result<LinkState> link(const VethStep& v, std::span<const Cidr> addrs, bool garp, bool mcast) override {
    std::string line = fmt::format("link {} vethwepl{} br={} mtu={}{}{}", v.ifname, v.veth_id, v.bridge, v.mtu,
                                   v.hairpin ? " hairpin" : "", v.keep_tx_on ? " keep-tx-on" : "");
    for (const auto& a : addrs) line += " " + a.str();
    line += garp ? " garp" : "";
    line += mcast ? " mcast" : "";
    calls.push_back(line);
    if (auto e = failure(Step::link)) return *e;
    return LinkState{v.ifname, *Mac::parse("02:00:00:00:00:01"), {addrs.begin(), addrs.end()}};
  }
  Result<void> pod_multicast_rules(const std::string& ifname, const Cidr& subnet) override {
    calls.push_back(fmt::format("pod-rules {} {}", ifname, subnet.str()));
    if (auto e = failure(Step::pod_rules)) return *e;
    return {};
  }
  Result<void> add_route(const std::string& ifname, const RouteStep& r) override {
    calls.push_back("route " + describe(r, ifname) + (r.link_scope ? " scope link" : ""));
    if (auto e = failure(Step::routes)) return *e;
    return {};
  }
  Result<int> announce(const std::string& prefix) override {
    calls.push_back("announce " + prefix);
    if (auto e = failure(Step::announce)) return *e;
    return 1;
  }
  Result<void> register_names(const std::string& ident, std::span<const DnsName> ns) override {
    std::string line = "dns " + ident;
    for (const auto& n : ns) line += fmt::format(" {}={}", n.fqdn, n.ip.str());
    calls.push_back(line);
    if (auto e = failure(Step::dns)) return *e;
    names.insert(names.end(), ns.begin(), ns.end());
    return {};
  }
  Result<void> unlink(std::span<const Cidr> addrs) override {
    std::string line = "unlink";
    for (const auto& a : addrs) line += " " + a.str();
    calls.push_back(line);
    if (auto e = failure(Step::link)) return *e;
    return {};
  }
  Result<void> unregister_names(const std::string& ident, std::span<const DnsName> ns) override {
    std::string line = "undns " + ident;
    for (const auto& n : ns) line += fmt::format(" {}={}", n.fqdn, n.ip.str());
    calls.push_back(line);
    if (auto e = failure(Step::dns)) return *e;
    return {};
  }
  Result<void> release(const std::string& ident, const Cidr& c) override {
    calls.push_back(fmt::format("release {} {}", ident, c.addr().str()));
    if (auto e = failure(Step::release)) return *e;
    return {};
  }

 private:
  std::optional<Error> failure(Step s) const {
    auto it = fail.find(s);
    if (it == fail.end()) return std::nullopt;
    return Error{it->second};
  }
};
static_assert(std::derived_from<FakeAttachHost, AttachHost>);

}  // namespace weft::attach
