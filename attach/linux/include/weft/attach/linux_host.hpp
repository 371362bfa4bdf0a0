#pragma once
// LinuxAttachHost: the AttachHost (executor.hpp) of a real host. IPAM and weaveDNS go to the
// router's HTTP API (spec §10), /etc/hosts is written through /proc/<pid>/root, and the link
// steps are datapath/linux's netlink code (container_attach.hpp) run against the container's
// namespace. Blocking; one instance per attach.
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "weft/attach/executor.hpp"
#include "weft/base/logger.hpp"
#include "weft/datapath/linux/netns.hpp"
#include "weft/http/client.hpp"

namespace weft::attach {

struct LinuxAttachConfig {
  /// The container's namespace: NETNS when the caller has it open (borrowed), else opened from
  /// NETNS_PATH at the first step that needs it.
  const datapath::host::Netns* netns = nullptr;
  std::string netns_path;
  /// The container's root for /etc/hosts (/proc/<pid>/root); "" = no hosts step possible.
  std::string root_path;
  /// The router's control API for the ipam and DNS steps (nullopt: those steps fail).
  std::optional<http::Endpoint> router;
  /// DNS in-process instead of over HTTP (weaver's plugin watcher registers in its own
  /// nameserver): when set, register_names() hands the names to it.
  std::function<void(const std::string& ident, std::vector<DnsName> names)> dns_sink;
  /// Router calls give up after this long (nullopt: never; allocations wait for space).
  std::optional<std::chrono::milliseconds> timeout;
  /// `weave attach`: names are registered with check-alive=true, and a failure is the router's
  /// answer alone (the script prints it as it is).
  bool names_check_alive = false;
  bool dns_errors_bare = false;
  Logger log = null_logger();
};

/// The router's answer to one call: STATUS and the body without its trailing newlines.
struct RouterAnswer {
  int status = 0;
  std::string body;
  bool ok() const { return status / 100 == 2; }
  /// A non-2xx answer as an error: the body, or the status when there is none.
  Error error() const;
};

class LinuxAttachHost final : public AttachHost {
 public:
  explicit LinuxAttachHost(LinuxAttachConfig cfg) : cfg_(std::move(cfg)) {}

  Result<std::vector<Cidr>> ipam(const IpamRequest& req) override;
  Result<void> write_hosts(const std::string& text) override;
  Result<LinkState> link(const VethStep& veth, std::span<const Cidr> addresses, bool garp,
                         bool multicast_route) override;
  Result<void> pod_multicast_rules(const std::string& ifname, const Cidr& subnet) override;
  Result<void> add_route(const std::string& ifname, const RouteStep& route) override;
  Result<int> announce(const std::string& prefix) override;
  Result<void> register_names(const std::string& ident, std::span<const DnsName> names) override;
  Result<void> unlink(std::span<const Cidr> addresses) override;
  Result<void> unregister_names(const std::string& ident, std::span<const DnsName> names) override;
  Result<void> release(const std::string& ident, const Cidr& address) override;

 private:
  Result<const datapath::host::Netns*> netns();
  Result<RouterAnswer> call(const std::string& method, const std::string& target, std::string body);

  LinuxAttachConfig cfg_;
  std::optional<datapath::host::Netns> owned_;
};

}  // namespace weft::attach
