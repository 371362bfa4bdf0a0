#pragma once
// Rtnl: a blocking rtnetlink client (libmnl) bound to one network namespace. Links, IPv4
// addresses, routes and bridge-port flags -- everything `ip link/addr/route` and `bridge link`
// would do for weft's host plumbing, without shelling out.
//
// Every method sends one request (or dump) and waits for the kernel's answer; errors come back as
// Result errors worded "<what> <which>: <strerror>", e.g. "create bridge weave: File exists".
// Not thread-safe: one Rtnl per thread (they are cheap).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/linux/netns.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace weft::datapath::host {

/// What IFLA_INFO_KIND says a link is. `other` keeps the kind string in LinkInfo::kind_name.
enum class LinkKind { unknown, bridge, veth, dummy, vxlan, tun, other };

struct LinkInfo {
  std::string name;
  int ifindex = 0;
  LinkKind kind = LinkKind::unknown;  ///< `unknown` = no IFLA_LINKINFO (lo, physical NICs)
  std::string kind_name;              ///< raw IFLA_INFO_KIND ("bridge", "veth", ...), may be ""
  std::uint32_t mtu = 0;
  Mac mac;
  int master = 0;  ///< ifindex of the bridge this link is a port of; 0 = none
  /// IFLA_LINK: for a veth, the peer's ifindex -- in the peer's namespace, which is another one
  /// when peer_netnsid is set. 0 = none.
  int peer_ifindex = 0;
  /// IFLA_LINK_NETNSID: the peer's namespace as an id local to *this* link's namespace (see
  /// Rtnl::netns_id). nullopt = the peer (if any) is in the same namespace.
  std::optional<std::int32_t> peer_netnsid;
  bool up = false;        ///< IFF_UP (administratively up)
  bool lower_up = false;  ///< IFF_LOWER_UP (carrier)
  /// For bridge ports (IFLA_INFO_SLAVE_DATA): IFLA_BRPORT_MODE, i.e. hairpin; nullopt otherwise.
  std::optional<bool> hairpin;
};

/// One entry of a bridge's forwarding table (`bridge fdb show br BRIDGE`).
struct FdbEntry {
  Mac mac;
  int ifindex = 0;         ///< the port the MAC is on (the bridge itself for its own address)
  bool permanent = false;  ///< NUD_PERMANENT: the port's or bridge's own address, not learned
};

struct AddrInfo {
  int ifindex = 0;
  Cidr cidr;  ///< the local address with its prefix, host bits kept: 10.32.0.1/12
  std::optional<Ipv4> broadcast;
  std::uint8_t scope = 0;  ///< RT_SCOPE_*
};

/// RT_SCOPE_* values used by weft.
enum class RouteScope : std::uint8_t { universe = 0, link = 253, host = 254 };

struct RouteInfo {
  Cidr dst;  ///< 0.0.0.0/0 for the default route
  int oif = 0;
  std::optional<Ipv4> gateway;
  RouteScope scope = RouteScope::universe;
  std::uint32_t table = 0;
};

struct BridgeSpec {
  std::string name;
  std::optional<std::uint32_t> mtu;
  std::optional<Mac> mac;
};

struct VethSpec {
  std::string name;
  std::string peer_name;
  std::optional<std::uint32_t> mtu;  ///< both ends
  /// Create the peer end directly in this namespace (IFLA_NET_NS_FD); nullptr = same namespace.
  const Netns* peer_netns = nullptr;
};

class Rtnl {
 public:
  /// Opens an rtnetlink socket in NS (or in the calling thread's namespace when NS is null).
  static Result<Rtnl> open(const Netns* ns = nullptr);
  ~Rtnl();
  Rtnl(Rtnl&& o) noexcept;
  Rtnl& operator=(Rtnl&& o) noexcept;
  Rtnl(const Rtnl&) = delete;
  Rtnl& operator=(const Rtnl&) = delete;

  // ---- links
  Result<LinkInfo> link(std::string_view name);
  Result<LinkInfo> link(int ifindex);
  /// Like link(name) but a missing link is nullopt rather than an error.
  Result<std::optional<LinkInfo>> find_link(std::string_view name);
  Result<std::vector<LinkInfo>> links();

  Result<void> create_bridge(const BridgeSpec& spec);
  Result<void> create_veth(const VethSpec& spec);
  /// `ip link add NAME mtu MTU type vxlan external dstport PORT`: a collect-metadata VXLAN device
  /// (the kernel fast path sets each packet's VNI and remote through its tunnel key).
  Result<void> create_vxlan_external(std::string_view name, std::uint16_t port, std::uint32_t mtu);
  Result<void> set_master(std::string_view name, std::string_view master);
  Result<void> set_nomaster(std::string_view name);
  Result<void> set_up(std::string_view name, bool up = true);
  Result<void> set_mtu(std::string_view name, std::uint32_t mtu);
  Result<void> set_mac(std::string_view name, const Mac& mac);
  /// The link must be down (the kernel refuses to rename a running interface).
  Result<void> rename(std::string_view name, std::string_view new_name);
  /// Moves the link into NS; it disappears from this Rtnl's namespace (and goes down).
  Result<void> move_to_netns(std::string_view name, const Netns& ns);
  /// Deleting either end of a veth deletes both.
  Result<void> delete_link(std::string_view name);

  // ---- bridge ports
  /// IFLA_PROTINFO/IFLA_BRPORT_MODE: lets frames go back out of the port they came in on, so a
  /// container can reach itself through an exposed/NATed address.
  Result<void> set_hairpin(std::string_view port, bool on);
  Result<bool> hairpin(std::string_view port);
  /// The forwarding table of the bridge BRIDGE_IFINDEX (RTM_GETNEIGH, AF_BRIDGE), without VLAN
  /// entries other than untagged.
  Result<std::vector<FdbEntry>> bridge_fdb(int bridge_ifindex);

  // ---- IPv4 addresses
  /// BROADCAST nullopt: derived from the prefix (all host bits set) for prefixes up to /30,
  /// none for /31 and /32 -- what `ip addr add ... brd +` and Weave (vishvananda/netlink) do.
  /// An address that is already present is an error ("File exists").
  Result<void> add_address(std::string_view ifname, const Cidr& cidr,
                           std::optional<Ipv4> broadcast = std::nullopt);
  Result<void> delete_address(std::string_view ifname, const Cidr& cidr);
  /// IPv4 addresses of IFNAME, in the kernel's order (primary first).
  Result<std::vector<AddrInfo>> addresses(std::string_view ifname);
  Result<std::vector<AddrInfo>> all_addresses();

  // ---- IPv4 routes (main table)
  /// `ip route add DST [via GATEWAY] dev IFNAME scope SCOPE`; EXIST_OK makes an existing
  /// identical route a success.
  Result<void> add_route(const Cidr& dst, std::string_view ifname, RouteScope scope,
                         bool exist_ok = false, std::optional<Ipv4> gateway = std::nullopt);
  Result<std::vector<RouteInfo>> routes();

  // ---- namespaces
  /// The id this namespace uses for OTHER (what LinkInfo::peer_netnsid holds for links whose
  /// peer lives there); nullopt if none is assigned.
  Result<std::optional<std::int32_t>> netns_id(const Netns& other);

 private:
  using MsgFn = std::function<void(const nlmsghdr*)>;
  explicit Rtnl(mnl_socket* s);
  /// Sends the request and waits until the kernel has answered it completely (ACK, error or the
  /// end of a dump), calling ON_MSG for each answer message. A dump interrupted by a concurrent
  /// change is repeated (a few times) after calling RESTART. Returns 0 or a positive errno.
  int transact(nlmsghdr* nlh, const MsgFn& on_msg = {}, const std::function<void()>& restart = {});
  Result<std::optional<LinkInfo>> get_link(std::string_view name, int ifindex);
  /// RTM_NEWLINK on an existing link; FILL adds the attributes to change.
  Result<void> modify_link(std::string_view what, std::string_view name,
                           const std::function<void(nlmsghdr*)>& fill, unsigned change = 0,
                           unsigned flags = 0);
  Result<void> change_address(bool add, std::string_view ifname, const Cidr& cidr,
                              std::optional<Ipv4> broadcast);

  mnl_socket* sock_ = nullptr;
  std::uint32_t portid_ = 0;
  std::uint32_t seq_ = 0;
  std::vector<char> rx_;
};

}  // namespace weft::datapath::host
