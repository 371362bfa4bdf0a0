#include "weft/dns_net/recursion_policy.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>

namespace weft::dns_net {

bool recursion_allowed(const boost::asio::ip::address& src, const std::vector<Cidr>& nets,
                       const std::vector<Ipv4>& local) {
  if (src.is_loopback()) return true;
  boost::asio::ip::address_v4 v4;
  if (src.is_v4()) {
    v4 = src.to_v4();
  } else if (src.to_v6().is_v4_mapped()) {
    v4 = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, src.to_v6());
  } else {
    return false;  // IPv6 sources other than ::1: no weave network is IPv6
  }
  if (v4.is_loopback()) return true;
  Ipv4 a(v4.to_uint());
  if (std::find(local.begin(), local.end(), a) != local.end()) return true;
  return std::any_of(nets.begin(), nets.end(), [&](const Cidr& c) { return c.contains(a); });
}

void RecursionPolicy::refresh(TimePoint now) {
  if (read_at_ != TimePoint{} && now - read_at_ < std::chrono::seconds(1)) return;
  read_at_ = now;
  nets_ = ranges_;
  local_.clear();
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return;
  for (auto* i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    Ipv4 addr(ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr));
    local_.push_back(addr);
    if (i->ifa_netmask == nullptr || std::find(bridges_.begin(), bridges_.end(), i->ifa_name) == bridges_.end()) continue;
    auto mask = ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_netmask)->sin_addr.s_addr);
    auto prefix = static_cast<std::uint8_t>(__builtin_popcount(mask));
    nets_.push_back(Cidr(addr, prefix).network());
  }
  ::freeifaddrs(ifs);
}

bool RecursionPolicy::allow(const boost::asio::ip::address& src) {
  refresh(Clock::now());
  return recursion_allowed(src, nets_, local_);
}

}  // namespace weft::dns_net
