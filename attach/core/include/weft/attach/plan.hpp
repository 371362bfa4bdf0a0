#pragma once
// One container-attach plan for every way weft attaches a container: the Docker proxy (spec §8.5),
// the plugin's watcher (spec §9), `weave attach` through `weaver util attach-container` (spec
// §11.4) and the CNI plugin (kube spec §1.4). Each caller turns what it knows about the container
// into a Request; plan() and complete() turn that into the steps, as data:
//
//   plan(request)              -> Plan   { IPAM requests, and the rest waiting for their answers }
//   complete(plan, addresses)  -> Steps  { hosts file, veth (MTU, offloads, hairpin), addresses,
//                                          gratuitous ARP, routes, pod rules, ARP announce,
//                                          weaveDNS names }
//
// execute() (executor.hpp) carries the steps out over the small AttachHost interface, so a fix to
// a step (the stale-ARP announce, say) reaches every caller. Nothing here does I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weft/base/ipv4.hpp"

namespace weft::attach {

/// One WEAVE_CIDR / `weave attach` address spec (spec §8.3): net:default, net:CIDR, ip:CIDR.
struct AddrSpec {
  enum class Kind { net_default, net, ip };
  Kind kind = Kind::net_default;
  Cidr cidr;         ///< net: the subnet (the proxy masks it; `weave attach` sends it as written); ip: as given
  std::string text;  ///< the spec as written, for error messages
  bool operator==(const AddrSpec&) const = default;
};

/// One call to the router's IPAM (spec §10 /ip rows).
struct IpamRequest {
  enum class Kind {
    allocate,  ///< POST /ip/<ident>[/<subnet>]: an address from SUBNET (nullopt: the default)
    claim,     ///< PUT /ip/<ident>/<cidr>: exactly CIDR (404, IPAM off: CIDR stands)
    given,     ///< no call: CIDR stands as given (`weave attach` without a running router)
    lookup,    ///< GET /ip/<ident>[/<subnet>]: the addresses IDENT holds (`weave detach`)
  };
  Kind kind = Kind::allocate;
  std::string ident;
  std::optional<Cidr> cidr;  ///< allocate: the subnet; claim: the address
  bool check_alive = true;   ///< the proxy's `check-alive=true` form field
  std::string label;         ///< the spec as written, for errors ("net:default", ...)
  bool operator==(const IpamRequest&) const = default;
};

/// The container end of the veth on the weave bridge (vethwepl<id> ── <ifname>).
struct VethStep {
  std::string bridge = "weave";
  std::string veth_id;           ///< vethwepl<veth_id>; Weave uses the pid
  std::string ifname = "ethwe";  ///< CNI: CNI_IFNAME
  std::uint32_t mtu = 0;         ///< 0: the bridge's
  bool hairpin = true;
  /// Offloads: off in the container (weft's datapath is userspace) unless the bridge takes
  /// superframes whole, or keep_tx_on (Weave's awsvpc mode) leaves TX checksumming on.
  bool keep_tx_on = false;
  bool operator==(const VethStep&) const = default;
};

/// A route in the container, via a gateway or on-link.
struct RouteStep {
  Cidr dst;
  std::optional<Ipv4> via;
  bool link_scope = false;
  bool operator==(const RouteStep&) const = default;
};

/// A weaveDNS entry.
struct DnsName {
  std::string fqdn;
  Ipv4 ip;
  bool operator==(const DnsName&) const = default;
};

/// What a caller knows about the container and wants done.
struct Request {
  std::string ident;  ///< IPAM/DNS identity: the full container ID
  /// IPAM: one request per spec, in order (the proxy's WEAVE_CIDR, ...).
  std::vector<AddrSpec> specs;
  bool check_alive = true;
  /// ip: specs are claimed in IPAM; false: they stand as given, with no call.
  bool claim_in_ipam = true;
  /// Addresses already known (`weave attach` got them from IPAM itself; CNI from its IPAM step).
  std::vector<Cidr> addresses;
  /// The veth; nullopt: the container's interfaces exist already (plugin endpoints).
  std::optional<VethStep> veth;
  bool multicast_route = true;  ///< 224.0.0.0/4 dev <ifname>, last (weavewait waits for it)
  bool gratuitous_arp = true;   ///< one per newly added address
  /// CNI: Weave's two multicast INPUT rules in the container for the pod's subnet.
  bool pod_multicast_rules = false;
  std::vector<RouteStep> routes;
  /// /etc/hosts (spec §8.6), written when set: hostname, domain, --add-host entries.
  struct Hosts {
    std::string hostname, domainname;
    std::vector<std::string> extra_hosts;
  };
  std::optional<Hosts> hosts;
  /// weaveDNS: FQDN registered for every address once attached ("" = none).
  std::string fqdn;
  /// Names with fixed addresses (the plugin's endpoints).
  std::vector<DnsName> names;
  /// The plugin watcher's stale-ARP fix: fast ARP sysctls and a gratuitous ARP per address on
  /// every link whose name starts with this prefix ("" = none).
  std::string announce_prefix;
};

/// Phase 1: the IPAM requests, and the request the rest of the steps come from.
struct Plan {
  Request request;
  std::vector<IpamRequest> ipam;
};

/// Phase 2: everything after IPAM, in the order it is carried out.
struct Steps {
  std::optional<std::string> hosts_text;  ///< the container's whole /etc/hosts
  std::optional<VethStep> veth;
  std::vector<Cidr> addresses;  ///< on the veth's container end, missing ones added
  bool gratuitous_arp = true;
  bool multicast_route = true;
  std::optional<Cidr> pod_multicast_subnet;  ///< CNI pod rules for this subnet
  std::vector<RouteStep> routes;
  std::string announce_prefix;
  std::vector<DnsName> names;
};

Plan plan(Request request);
/// ALLOCATED: the IPAM answers in request order, then the request's own addresses follow.
Steps complete(const Plan& plan, const std::vector<Cidr>& allocated);

/// §8.6 /etc/hosts text (without echo's extra newline).
std::string hosts_file(const std::string& hostname, const std::string& domainname, const std::vector<Ipv4>& ips,
                       const std::vector<std::string>& extra_hosts);

/// The CNI routes (kube spec §1.4 step 7): without IPAM routes, a default route via GW (and an
/// on-link route to GW when it is outside ADDRESS); with them, each route via its own gateway or
/// GW (none when GW is 0.0.0.0).
std::vector<RouteStep> cni_routes(const Cidr& address, Ipv4 gw,
                                  const std::optional<std::vector<RouteStep>>& ipam_routes);

}  // namespace weft::attach
