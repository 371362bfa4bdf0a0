#pragma once
// Carries out an attach plan (plan.hpp) over AttachHost, the small interface to the outside world:
// the router's IPAM and weaveDNS, the container's /etc/hosts, and netlink in the container's
// namespace. attach/linux has the real host (LinuxAttachHost); tests/attach has a fake that
// records every call.
//
// Threading: execute() runs on the caller's thread and blocks while the host does (an IPAM
// allocation waits for the ring to have space).
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "weft/attach/plan.hpp"
#include "weft/attach/weave_cli.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/result.hpp"

namespace weft::attach {

/// The veth's container end after the link step.
struct LinkState {
  std::string ifname;
  Mac mac;
  std::vector<Cidr> cidrs;
};

/// What execute() needs done, one call per step.
class AttachHost {
 public:
  virtual ~AttachHost() = default;
  /// One IPAM call (never Kind::given); the CIDRs the router answered (allocate and claim: one;
  /// lookup: any number, none included).
  virtual Result<std::vector<Cidr>> ipam(const IpamRequest& req) = 0;
  /// Replaces the container's /etc/hosts with TEXT.
  virtual Result<void> write_hosts(const std::string& text) = 0;
  /// Creates VETH if the container has no VETH.ifname yet, adds the missing ADDRESSES, sets the
  /// interface up, sends one gratuitous ARP per address it added (when GARP), and adds the
  /// multicast route last (when MULTICAST_ROUTE).
  virtual Result<LinkState> link(const VethStep& veth, std::span<const Cidr> addresses, bool garp,
                                 bool multicast_route) = 0;
  /// Weave's two multicast INPUT rules in the container for SUBNET on IFNAME.
  virtual Result<void> pod_multicast_rules(const std::string& ifname, const Cidr& subnet) = 0;
  /// One route in the container on IFNAME (already there is fine).
  virtual Result<void> add_route(const std::string& ifname, const RouteStep& route) = 0;
  /// The stale-ARP fix: ARP sysctls and a gratuitous ARP per address on links named PREFIX*.
  virtual Result<int> announce(const std::string& prefix) = 0;
  /// weaveDNS entries for IDENT.
  virtual Result<void> register_names(const std::string& ident, std::span<const DnsName> names) = 0;

  // `weave detach` (execute_detach):
  /// Removes ADDRESSES from the container's weave interfaces, and an interface left without any.
  virtual Result<void> unlink(std::span<const Cidr> addresses) = 0;
  /// Drops IDENT's weaveDNS entries NAMES.
  virtual Result<void> unregister_names(const std::string& ident, std::span<const DnsName> names) = 0;
  /// Gives ADDRESS back to IPAM (DELETE /ip/<ident>/<ip>).
  virtual Result<void> release(const std::string& ident, const Cidr& address) = 0;
};

enum class Step { ipam, hosts, link, pod_rules, routes, announce, dns, release };

/// The step that stopped an attach, and why. Steps after it did not run.
struct Failure {
  Step step = Step::ipam;
  std::string label;  ///< ipam: the spec as written; routes: the route's text
  std::string message;
};

struct Outcome {
  std::vector<Cidr> allocated;     ///< IPAM's answers (also on failure, for the caller to give back)
  std::optional<LinkState> link;   ///< set when the link step ran
  std::optional<Failure> failure;  ///< nullopt: every step ran
  /// Steps that failed without stopping the attach (hosts, pod rules, announce, DNS).
  std::vector<Failure> warnings;
  bool ok() const { return !failure.has_value(); }
};

/// Runs PLAN: IPAM, then complete(), then hosts, link, pod rules, routes, announce, DNS names.
/// A failed ipam, link or route step stops it; the others are warnings.
Outcome execute(const Plan& plan, AttachHost& host);

struct DetachOutcome {
  std::vector<Cidr> addresses;  ///< what was (or was to be) removed, in argument order
  std::optional<Failure> failure;
  std::vector<Failure> warnings;  ///< dns (unregister) and release failures
  bool ok() const { return !failure.has_value(); }
};

/// Runs a `weave detach` plan: lookups, unlink (when there is an address), then with a router
/// running the names and the releases. A failed lookup or unlink stops it; the rest are warnings.
DetachOutcome execute_detach(const DetachPlan& plan, AttachHost& host);

/// A route as the CNI plugin's errors show it: "0.0.0.0/0 via 10.32.0.1 dev eth0" (via <nil>).
std::string describe(const RouteStep& r, const std::string& ifname);

}  // namespace weft::attach
