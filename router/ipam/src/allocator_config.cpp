// The allocator's configuration and request parsing: --ipalloc-init, subnets, the rmpeer answer.
#include <charconv>

#include "text.hpp"
#include "weft/ipam/allocator.hpp"

namespace weft::ipam {

Result<IpallocInit> IpallocInit::parse(std::string_view s) {
  IpallocInit init;
  if (s.empty() || s == "consensus") return init;
  if (s.starts_with("consensus=")) {
    auto n = s.substr(10);
    std::uint32_t v = 0;
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
    if (n.empty() || ec != std::errc() || p != n.data() + n.size() || v == 0) {
      return make_error("invalid --ipalloc-init '{}': consensus=N needs a positive number of peers",
                        s);
    }
    init.consensus_peers = v;
    return init;
  }
  if (s == "observer") {
    init.mode = Mode::observer;
    return init;
  }
  if (s.starts_with("seed=")) {
    init.mode = Mode::seed;
    for (auto part : split(s.substr(5), ',')) {
      auto p = PeerName::parse(part);
      if (!p) return make_error("invalid --ipalloc-init '{}': '{}' is not a peer name", s, part);
      init.seeds.push_back(*p);
    }
    return init;
  }
  return make_error("invalid --ipalloc-init '{}': want consensus[=N], seed=NAME,... or observer",
                    s);
}

Result<Cidr> parse_cidr_subnet(std::string_view s) {
  auto c = Cidr::parse(s);
  if (!c) return make_error("invalid CIDR address: {}", s);
  std::optional<Error> err;
  if (!c->is_network())
    err = make_error("invalid subnet - bits after network prefix are not all zero: {}", s);
  if (c->size() < kMinSubnetSize)
    err = make_error("invalid subnet - smaller than minimum size {}: {}", kMinSubnetSize, s);
  if (err) return *err;
  return *c;
}

Result<Cidr> parse_default_subnet(const Cidr& universe, std::string_view s) {
  auto c = Cidr::parse(s);
  if (!c) return make_error("invalid CIDR address: {}", s);
  auto subnet = c->network();
  if (subnet.size() < kMinSubnetSize) {
    return make_error("invalid --ipalloc-default-subnet {}: smaller than minimum size {}", s,
                      kMinSubnetSize);
  }
  auto u = Ipv4Range::of(universe), r = Ipv4Range::of(subnet);
  if (r.start() < u.start() || r.end() > u.end()) {
    return make_error("IP address allocation default subnet {} must be within allocation range {}",
                      subnet, universe.network());
  }
  return subnet;
}

Ipv4Range host_range(const Cidr& subnet) {
  auto r = Ipv4Range::of(subnet);
  if (r.size() < 3) return r;
  return Ipv4Range(r.start() + 1, r.end() - 1);
}

std::string format_takeover(std::uint64_t count, std::string_view name) {
  return fmt::format("{} IPs taken over from {}\n", count, name);
}

}  // namespace weft::ipam
