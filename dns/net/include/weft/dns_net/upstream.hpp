#pragma once
// The upstream resolvers of weaveDNS: the `nameserver` lines of --resolv-conf, re-read when the
// file changes (checked at most every 5 s, as Weave's upstream.Config), without our own address.
// Runs on the io_context thread; reads the file synchronously (it is small and local).
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weft/base/clock.hpp"
#include "weft/base/logger.hpp"

namespace weft::dns_net {

class Upstreams {
 public:
  static constexpr Duration kRecheck = std::chrono::seconds(5);
  static constexpr std::uint16_t kPort = 53;

  /// `own_address`: our DNS address (an IP; "" = none) to leave out. `listening_on_any` with
  /// `listen_port` equal to `upstream_port` also leaves out loopback servers, which would be us.
  Upstreams(std::string resolv_conf, std::string own_address, bool listening_on_any, std::uint16_t listen_port,
            Logger log, std::uint16_t upstream_port = kPort);

  /// The servers to try, in order. Stats the file when the last check is kRecheck old; re-reads
  /// it when its modification time, size or inode changed. A missing or unreadable file keeps
  /// the last good list (empty at first) and is logged once per change of state.
  const std::vector<boost::asio::ip::udp::endpoint>& servers(TimePoint now);
  /// The same as text, for /report's DNS.Upstream.
  std::vector<std::string> server_names(TimePoint now);
  const std::string& path() const { return path_; }

 private:
  void reload(TimePoint now);

  std::string path_;
  std::string own_address_;
  bool listening_on_any_;
  std::uint16_t listen_port_;
  Logger log_;
  std::uint16_t upstream_port_;
  std::optional<TimePoint> last_check_;
  struct Stamp {
    std::int64_t mtime_ns = -1;
    std::int64_t size = -1;
    std::uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  Stamp stamp_;
  bool failing_ = false;
  std::vector<boost::asio::ip::udp::endpoint> servers_;
  std::vector<std::string> names_;
};

}  // namespace weft::dns_net
