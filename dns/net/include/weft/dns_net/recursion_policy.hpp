#pragma once
// Who may use weaveDNS as a recursive resolver (issue 18, item 6): the weave network and local
// sources, not any host that can reach port 53. Allowed: loopback, this host's own addresses,
// the subnets of the addresses on the named bridges (the weave bridge, docker0) and the given
// ranges (the IPAM range). Names in the weave domain are answered for everyone, as Weave did.
#include <boost/asio/ip/address.hpp>
#include <string>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/base/ipv4.hpp"

namespace weft::dns_net {

/// The pure rule: is `src` loopback, one of `local`, or inside one of `nets`?
bool recursion_allowed(const boost::asio::ip::address& src, const std::vector<Cidr>& nets,
                       const std::vector<Ipv4>& local);

/// The rule over the host's interfaces, re-read at most once a second (getifaddrs).
class RecursionPolicy {
 public:
  RecursionPolicy(std::vector<std::string> bridges, std::vector<Cidr> ranges)
      : bridges_(std::move(bridges)), ranges_(std::move(ranges)) {}
  bool allow(const boost::asio::ip::address& src);

 private:
  void refresh(TimePoint now);
  std::vector<std::string> bridges_;
  std::vector<Cidr> ranges_;
  std::vector<Cidr> nets_;
  std::vector<Ipv4> local_;
  TimePoint read_at_{};
};

}  // namespace weft::dns_net
