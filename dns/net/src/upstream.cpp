#include "weft/dns_net/upstream.hpp"

#include <sys/stat.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "weft/dns/resolv_conf.hpp"

namespace weft::dns_net {

Upstreams::Upstreams(std::string resolv_conf, std::string own_address, bool listening_on_any, std::uint16_t listen_port,
                     Logger log, std::uint16_t upstream_port)
    : path_(std::move(resolv_conf)),
      own_address_(std::move(own_address)),
      listening_on_any_(listening_on_any),
      listen_port_(listen_port),
      log_(std::move(log)),
      upstream_port_(upstream_port) {}

const std::vector<boost::asio::ip::udp::endpoint>& Upstreams::servers(TimePoint now) {
  if (!last_check_ || now - *last_check_ >= kRecheck) reload(now);
  return servers_;
}

std::vector<std::string> Upstreams::server_names(TimePoint now) {
  servers(now);
  return names_;
}

void Upstreams::reload(TimePoint now) {
  last_check_ = now;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (!failing_) log_.warn("unable to read upstream config {}: {}", path_, std::strerror(errno));
    failing_ = true;
    return;
  }
  Stamp s{static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino)};
  if (s == stamp_ && !failing_) return;
  std::ifstream in(path_);
  if (!in) {
    if (!failing_) log_.warn("unable to read upstream config {}", path_);
    failing_ = true;
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto listed = dns::filter_upstreams(dns::parse_resolv_conf(text.str()), own_address_, listening_on_any_,
                                      listen_port_ == upstream_port_);
  std::vector<boost::asio::ip::udp::endpoint> eps;
  std::vector<std::string> names;
  for (auto& name : listed) {
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(name, ec);
    if (ec) {
      log_.warn("{}: ignoring nameserver {}: not an IP address", path_, name);
      continue;
    }
    eps.emplace_back(addr, upstream_port_);
    names.push_back(name);
  }
  stamp_ = s;
  failing_ = false;
  if (names != names_)
    log_.info("upstream servers from {}: {}", path_,
              names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
  servers_ = std::move(eps);
  names_ = std::move(names);
}

}  // namespace weft::dns_net
