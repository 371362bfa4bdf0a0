// The attach executor (see executor.hpp).
#include "weft/attach/executor.hpp"

#include <fmt/format.h>

namespace weft::attach {

std::string describe(const RouteStep& r, const std::string& ifname) {
  return fmt::format("{} via {} dev {}", r.dst.network(), r.via ? r.via->str() : "<nil>", ifname);
}

Outcome execute(const Plan& plan, AttachHost& host) {
  Outcome out;
  for (const auto& rq : plan.ipam) {
    if (rq.kind == IpamRequest::Kind::given) {
      if (rq.cidr) out.allocated.push_back(*rq.cidr);
      continue;
    }
    auto got = host.ipam(rq);
    if (!got) {
      out.failure = Failure{Step::ipam, rq.label, got.error().message};
      return out;
    }
    out.allocated.insert(out.allocated.end(), got->begin(), got->end());
  }
  Steps s = complete(plan, out.allocated);
  if (s.hosts_text) {
    if (auto r = host.write_hosts(*s.hosts_text); !r) out.warnings.push_back({Step::hosts, "", r.error().message});
  }
  std::string ifname;
  if (s.veth) {
    ifname = s.veth->ifname;
    auto l = host.link(*s.veth, s.addresses, s.gratuitous_arp, s.multicast_route);
    if (!l) {
      out.failure = Failure{Step::link, s.veth->ifname, l.error().message};
      return out;
    }
    out.link = std::move(*l);
    if (s.pod_multicast_subnet) {
      if (auto r = host.pod_multicast_rules(ifname, *s.pod_multicast_subnet); !r) {
        out.warnings.push_back({Step::pod_rules, ifname, r.error().message});
      }
    }
  }
  for (const auto& rt : s.routes) {
    if (auto r = host.add_route(ifname, rt); !r) {
      out.failure = Failure{Step::routes, describe(rt, ifname), r.error().message};
      return out;
    }
  }
  if (!s.announce_prefix.empty()) {
    if (auto r = host.announce(s.announce_prefix); !r) {
      out.warnings.push_back({Step::announce, s.announce_prefix, r.error().message});
    }
  }
  if (!s.names.empty()) {
    if (auto r = host.register_names(plan.request.ident, s.names); !r) {
      out.warnings.push_back({Step::dns, plan.request.ident, r.error().message});
    }
  }
  return out;
}

DetachOutcome execute_detach(const DetachPlan& plan, AttachHost& host) {
  DetachOutcome out;
  std::vector<std::vector<Cidr>> looked_up;
  for (const auto& rq : plan.lookups) {
    auto got = host.ipam(rq);
    if (!got) {
      out.failure = Failure{Step::ipam, rq.label, got.error().message};
      return out;
    }
    looked_up.push_back(std::move(*got));
  }
  DetachSteps s = detach_steps(plan, looked_up);
  out.addresses = s.addresses;
  if (!s.addresses.empty()) {
    if (auto r = host.unlink(s.addresses); !r) {
      out.failure = Failure{Step::link, "", r.error().message};
      return out;
    }
  }
  if (!s.names.empty()) {
    if (auto r = host.unregister_names(plan.ident, s.names); !r) {
      out.warnings.push_back({Step::dns, plan.ident, r.error().message});
    }
  }
  for (const auto& c : s.release) {
    if (auto r = host.release(plan.ident, c); !r) out.warnings.push_back({Step::release, c.str(), r.error().message});
  }
  return out;
}

}  // namespace weft::attach
