#pragma once
// `weave attach` and `weave detach` (spec §11.4) as attach plans: what scripts/weave hands to
// `weaver util attach|detach` (router/weaver/util_attach.cpp), turned into a Request or a
// DetachPlan. The semantics are the script's (Weave's ipam_cidrs):
//   - net:default / net:CIDR ask IPAM (POST, check-alive), whether or not the router runs;
//   - ip:CIDR / CIDR are claimed in IPAM (PUT, check-alive) only when the router runs, and a 404
//     (IPAM off) leaves the address standing; without a router they are attached as given;
//   - weaveDNS names only for a container with a domain, without --without-dns, router running;
//   - detach looks net: addresses up (GET), removes them all, and with a router running drops
//     the names and gives back only the looked-up addresses.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/attach/plan.hpp"
#include "weft/base/result.hpp"

namespace weft::attach {

/// One address argument as the script takes it: net:default, net:CIDR, ip:CIDR or CIDR. The
/// CIDR is kept as written (the router refuses a net: subnet with host bits, as Weave's does).
std::optional<AddrSpec> parse_addr_spec(std::string_view word);

/// What the script knows when it runs `weave attach|detach`.
struct WeaveCommand {
  std::string ident;                   ///< IPAM/DNS identity (netns name, pid, Docker ID)
  std::vector<std::string> addr_args;  ///< as given; empty = net:default
  std::string fqdn;                    ///< "" = no weaveDNS name (no domain)
  bool router_running = false;         ///< the script's weaver_running
  bool without_dns = false;
  bool multicast_route = true;
  std::string bridge = "weave";
  std::string veth_id;  ///< vethwepl<veth_id>
};

/// `weave attach`: the Request (IPAM specs, veth, names) for plan(). Errors name a bad argument.
Result<Request> weave_attach_request(const WeaveCommand& cmd);

/// `weave detach` as data: lookups first, then the rest with their answers (detach_steps).
struct DetachPlan {
  std::string ident;
  std::vector<IpamRequest> lookups;  ///< GET /ip/<ident>[/<subnet>], one per net: argument
  /// Every argument's address in argument order; a lookup's answers take its place.
  std::vector<std::optional<Cidr>> fixed;
  std::string fqdn;  ///< names dropped for every address (router running only)
  bool router_running = false;
};

/// What detach does once the lookups answered (LOOKED_UP: one answer list per lookup, in order).
struct DetachSteps {
  std::vector<Cidr> addresses;  ///< removed from the container (and printed), in argument order
  std::vector<DnsName> names;   ///< DELETE /name/<ident>/<ip>?fqdn=
  std::vector<Cidr> release;    ///< DELETE /ip/<ident>/<ip>: the looked-up addresses only
};

Result<DetachPlan> weave_detach_plan(const WeaveCommand& cmd);
DetachSteps detach_steps(const DetachPlan& plan, const std::vector<std::vector<Cidr>>& looked_up);

/// The namespace file a `weaver util` NETNS argument names: netns:NAME -> /run/netns/NAME,
/// pid:PID -> /proc/PID/ns/net; a path is returned as it is.
std::string netns_file(const std::string& arg);

/// "10.32.0.1 10.2.1.1": the addresses without prefix, as weave's show_addrs prints them.
std::string show_addrs(const std::vector<Cidr>& cidrs);

}  // namespace weft::attach
