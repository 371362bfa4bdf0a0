// Rtnl: rtnetlink requests over libmnl. Message layouts follow iproute2 (ip link/addr/route,
// bridge link): an ifinfomsg/ifaddrmsg/rtmsg header followed by attributes.
#include "weft/datapath/linux/rtnl.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if_arp.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace weft::datapath::host {
namespace {

constexpr std::size_t kTxBufSize = 4096;
// NB: a dump reply skb may be up to 32 KiB (more with large pages); a shorter read would be
// truncated (MSG_TRUNC) and its messages lost.
constexpr std::size_t kRxBufSize = 65536;
constexpr std::size_t kIfNameMax = 15;  // IFNAMSIZ - 1
constexpr int kDumpRetries = 10;

/// Attribute table filled by mnl_attr_parse: tb[type] = last attribute of that type.
template <std::size_t N>
struct Attrs {
  std::array<const nlattr*, N + 1> tb{};
  const nlattr* operator[](int type) const {
    return type >= 0 && static_cast<std::size_t>(type) <= N ? tb[static_cast<std::size_t>(type)]
                                                            : nullptr;
  }
};

template <std::size_t N>
int collect_attr(const nlattr* attr, void* data) {
  auto* attrs = static_cast<Attrs<N>*>(data);
  // NB: mnl_attr_type_valid returns 1/-1, not the type.
  if (mnl_attr_type_valid(attr, static_cast<std::uint16_t>(N)) < 0) return MNL_CB_OK;
  attrs->tb[mnl_attr_get_type(attr)] = attr;
  return MNL_CB_OK;
}

template <std::size_t N>
Attrs<N> parse_attrs(const nlmsghdr* nlh, std::size_t header_len) {
  Attrs<N> a;
  mnl_attr_parse(nlh, static_cast<unsigned>(header_len), collect_attr<N>, &a);
  return a;
}

template <std::size_t N>
Attrs<N> parse_nested(const nlattr* nest) {
  Attrs<N> a;
  if (nest != nullptr) mnl_attr_parse_nested(nest, collect_attr<N>, &a);
  return a;
}

bool has_u32(const nlattr* a) { return a != nullptr && mnl_attr_get_payload_len(a) >= 4; }
bool has_u8(const nlattr* a) { return a != nullptr && mnl_attr_get_payload_len(a) >= 1; }

std::string attr_str(const nlattr* a) {
  if (a == nullptr) return {};
  const char* p = static_cast<const char*>(mnl_attr_get_payload(a));
  return std::string(p, strnlen(p, mnl_attr_get_payload_len(a)));
}

Ipv4 attr_ipv4(const nlattr* a) { return Ipv4(ntohl(mnl_attr_get_u32(a))); }

LinkKind kind_of(const std::string& k) {
  if (k.empty()) return LinkKind::unknown;
  if (k == "bridge") return LinkKind::bridge;
  if (k == "veth") return LinkKind::veth;
  if (k == "dummy") return LinkKind::dummy;
  if (k == "vxlan") return LinkKind::vxlan;
  if (k == "tun") return LinkKind::tun;
  return LinkKind::other;
}

std::optional<LinkInfo> parse_link(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(ifinfomsg)) {
    return std::nullopt;
  }
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  auto tb = parse_attrs<IFLA_MAX>(nlh, sizeof(ifinfomsg));
  LinkInfo l;
  l.ifindex = ifi->ifi_index;
  l.up = (ifi->ifi_flags & IFF_UP) != 0;
  l.lower_up = (ifi->ifi_flags & IFF_LOWER_UP) != 0;
  l.name = attr_str(tb[IFLA_IFNAME]);
  if (has_u32(tb[IFLA_MTU])) l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
  if (tb[IFLA_ADDRESS] != nullptr && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
    std::array<std::uint8_t, 6> b{};
    std::memcpy(b.data(), mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
    l.mac = Mac(b);
  }
  if (has_u32(tb[IFLA_MASTER])) l.master = static_cast<int>(mnl_attr_get_u32(tb[IFLA_MASTER]));
  if (has_u32(tb[IFLA_LINK])) l.peer_ifindex = static_cast<int>(mnl_attr_get_u32(tb[IFLA_LINK]));
  if (has_u32(tb[IFLA_LINK_NETNSID])) {
    l.peer_netnsid = static_cast<std::int32_t>(mnl_attr_get_u32(tb[IFLA_LINK_NETNSID]));
  }
  auto info = parse_nested<IFLA_INFO_MAX>(tb[IFLA_LINKINFO]);
  l.kind_name = attr_str(info[IFLA_INFO_KIND]);
  l.kind = kind_of(l.kind_name);
  if (attr_str(info[IFLA_INFO_SLAVE_KIND]) == "bridge") {
    auto port = parse_nested<IFLA_BRPORT_MAX>(info[IFLA_INFO_SLAVE_DATA]);
    if (has_u8(port[IFLA_BRPORT_MODE])) l.hairpin = mnl_attr_get_u8(port[IFLA_BRPORT_MODE]) != 0;
  }
  return l;
}

std::optional<AddrInfo> parse_addr(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(ifaddrmsg)) {
    return std::nullopt;
  }
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ifa->ifa_family != AF_INET) return std::nullopt;
  auto tb = parse_attrs<IFA_MAX>(nlh, sizeof(ifaddrmsg));
  const nlattr* local = has_u32(tb[IFA_LOCAL]) ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!has_u32(local)) return std::nullopt;
  AddrInfo a;
  a.ifindex = static_cast<int>(ifa->ifa_index);
  a.cidr = Cidr(attr_ipv4(local), ifa->ifa_prefixlen);
  if (has_u32(tb[IFA_BROADCAST])) a.broadcast = attr_ipv4(tb[IFA_BROADCAST]);
  a.scope = ifa->ifa_scope;
  return a;
}

std::optional<RouteInfo> parse_route(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(rtmsg)) {
    return std::nullopt;
  }
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_family != AF_INET) return std::nullopt;
  auto tb = parse_attrs<RTA_MAX>(nlh, sizeof(rtmsg));
  RouteInfo r;
  r.table = has_u32(tb[RTA_TABLE]) ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
  r.dst = Cidr(has_u32(tb[RTA_DST]) ? attr_ipv4(tb[RTA_DST]) : Ipv4(0), rtm->rtm_dst_len);
  if (has_u32(tb[RTA_OIF])) r.oif = static_cast<int>(mnl_attr_get_u32(tb[RTA_OIF]));
  if (has_u32(tb[RTA_GATEWAY])) r.gateway = attr_ipv4(tb[RTA_GATEWAY]);
  r.scope = static_cast<RouteScope>(rtm->rtm_scope);
  return r;
}

std::optional<FdbEntry> parse_fdb(const nlmsghdr* nlh, int bridge_ifindex) {
  if (nlh->nlmsg_type != RTM_NEWNEIGH || mnl_nlmsg_get_payload_len(nlh) < sizeof(ndmsg)) return std::nullopt;
  const auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ndm->ndm_family != AF_BRIDGE) return std::nullopt;
  auto tb = parse_attrs<NDA_MAX>(nlh, sizeof(ndmsg));
  // The bridge's own table only: entries of a port's hardware (NTF_SELF) name no NDA_MASTER.
  const bool ours = (has_u32(tb[NDA_MASTER]) && static_cast<int>(mnl_attr_get_u32(tb[NDA_MASTER])) == bridge_ifindex) ||
                    ndm->ndm_ifindex == bridge_ifindex;
  if (!ours) return std::nullopt;
  if (tb[NDA_VLAN] != nullptr) return std::nullopt;
  if (tb[NDA_LLADDR] == nullptr || mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6) return std::nullopt;
  std::array<std::uint8_t, 6> b{};
  std::memcpy(b.data(), mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
  FdbEntry e;
  e.mac = Mac(b);
  e.ifindex = ndm->ndm_ifindex;
  e.permanent = (ndm->ndm_state & NUD_PERMANENT) != 0;
  return e;
}

Result<void> check_name(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > kIfNameMax || name == "." || name == ".." ||
      name.find_first_of("/ \t\n:") != std::string_view::npos) {
    return make_error("{} '{}': invalid interface name (1-{} characters, no '/', ':' or spaces)",
                      what, name, kIfNameMax);
  }
  return {};
}

/// A request message under construction in a stack buffer.
struct Msg {
  alignas(nlmsghdr) std::array<char, kTxBufSize> buf{};
  nlmsghdr* nlh = nullptr;

  template <typename Hdr>
  Hdr* start(std::uint16_t type, std::uint16_t flags) {
    nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    return static_cast<Hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Hdr)));
  }
};

void put_name(nlmsghdr* nlh, std::uint16_t type, std::string_view name) {
  std::string s(name);
  mnl_attr_put_strz(nlh, type, s.c_str());
}

void put_ipv4(nlmsghdr* nlh, std::uint16_t type, Ipv4 a) {
  mnl_attr_put_u32(nlh, type, htonl(a.value()));
}

/// Like mnl_attr_nest_start, but marks the attribute NLA_F_NESTED (the bridge's IFLA_PROTINFO
/// parser requires the flag; other parsers ignore it).
nlattr* nest_start_flagged(nlmsghdr* nlh, std::uint16_t type) {
  nlattr* a = mnl_attr_nest_start(nlh, type);
  a->nla_type = static_cast<std::uint16_t>(a->nla_type | NLA_F_NESTED);
  return a;
}

std::string errstr(int e) { return std::strerror(e); }

}  // namespace

// ---- socket -------------------------------------------------------------------------------------

Rtnl::Rtnl(mnl_socket* s) : sock_(s), portid_(mnl_socket_get_portid(s)), rx_(kRxBufSize) {}

Rtnl::~Rtnl() {
  if (sock_ != nullptr) mnl_socket_close(sock_);
}

Rtnl::Rtnl(Rtnl&& o) noexcept
    : sock_(std::exchange(o.sock_, nullptr)),
      portid_(o.portid_),
      seq_(o.seq_),
      rx_(std::move(o.rx_)) {}

Rtnl& Rtnl::operator=(Rtnl&& o) noexcept {
  if (this != &o) {
    if (sock_ != nullptr) mnl_socket_close(sock_);
    sock_ = std::exchange(o.sock_, nullptr);
    portid_ = o.portid_;
    seq_ = o.seq_;
    rx_ = std::move(o.rx_);
  }
  return *this;
}

Result<Rtnl> Rtnl::open(const Netns* ns) {
  auto make = []() -> Result<mnl_socket*> {
    mnl_socket* s = mnl_socket_open(NETLINK_ROUTE);
    if (s == nullptr) return make_error("rtnetlink socket: {}", errstr(errno));
    if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
      int e = errno;
      mnl_socket_close(s);
      return make_error("rtnetlink bind: {}", errstr(e));
    }
    // Fewer surprises on dumps: the kernel validates request headers strictly (best effort;
    // kernels before 4.20 don't know the option).
    int one = 1;
    mnl_socket_setsockopt(s, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
    return s;
  };
  auto s = ns != nullptr ? in_netns(*ns, make) : make();
  if (!s) return s.error();
  return Rtnl(*s);
}

int Rtnl::transact(nlmsghdr* nlh, const MsgFn& on_msg, const std::function<void()>& restart) {
  if (sock_ == nullptr) return EBADF;
  const bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  // A dump that raced with a change in the namespace is flagged NLM_F_DUMP_INTR and may be
  // inconsistent: run it again, after `restart` has dropped what on_msg collected so far.
  for (int attempt = 0;; ++attempt) {
    std::uint32_t seq = ++seq_;
    nlh->nlmsg_seq = seq;
    if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) return errno;
    bool interrupted = false;
    int result = -1;
    while (result < 0) {
      ssize_t n = mnl_socket_recvfrom(sock_, rx_.data(), rx_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      // NB: parsed by hand rather than with mnl_cb_run, which stops at the first error or
      // interrupted-dump flag and leaves the rest of the answer queued, where it would be taken
      // for the answer to the next request. Here everything up to DONE/ACK/error is consumed,
      // and leftovers of an earlier request (another sequence number) are skipped.
      auto len = static_cast<int>(n);
      for (const auto* m = reinterpret_cast<const nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(m, len);
           m = mnl_nlmsg_next(m, &len)) {
        if (m->nlmsg_seq != seq || (m->nlmsg_pid != 0 && m->nlmsg_pid != portid_)) continue;
        if ((m->nlmsg_flags & NLM_F_DUMP_INTR) != 0) interrupted = true;
        if (m->nlmsg_type == NLMSG_ERROR) {
          if (mnl_nlmsg_get_payload_len(m) < sizeof(nlmsgerr)) {
            result = EPROTO;
          } else {
            const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
            result = err->error < 0 ? -err->error : err->error;
          }
          break;
        }
        if (m->nlmsg_type == NLMSG_DONE) {
          result = 0;
          break;
        }
        if (m->nlmsg_type == NLMSG_NOOP || m->nlmsg_type == NLMSG_OVERRUN) continue;
        if (!interrupted && on_msg) on_msg(m);
        if (!dump && (nlh->nlmsg_flags & NLM_F_ACK) == 0) {
          result = 0;  // a single answer without an ACK to wait for
          break;
        }
      }
    }
    if (result == 0 && dump && interrupted) {
      if (attempt < kDumpRetries) {
        if (restart) restart();
        continue;
      }
      return EINTR;
    }
    return result;
  }
}

// ---- links --------------------------------------------------------------------------------------

Result<std::optional<LinkInfo>> Rtnl::get_link(std::string_view name, int ifindex) {
  if (ifindex <= 0) {
    if (auto r = check_name("link", name); !r) return r.error();
  }
  Msg m;
  auto* ifi = m.start<ifinfomsg>(RTM_GETLINK, NLM_F_ACK);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex > 0 ? ifindex : 0;
  if (ifindex <= 0) put_name(m.nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32(m.nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  std::optional<LinkInfo> out;
  int e = transact(m.nlh, [&](const nlmsghdr* nlh) {
    if (auto l = parse_link(nlh)) out = std::move(l);
  });
  if (e == ENODEV) return std::optional<LinkInfo>{};
  if (e != 0) {
    if (ifindex > 0) return make_error("link #{}: {}", ifindex, errstr(e));
    return make_error("link {}: {}", name, errstr(e));
  }
  return out;
}

Result<std::optional<LinkInfo>> Rtnl::find_link(std::string_view name) { return get_link(name, 0); }

Result<LinkInfo> Rtnl::link(std::string_view name) {
  WEFT_TRY(l, get_link(name, 0));
  if (!l) return make_error("link {}: {}", name, errstr(ENODEV));
  return std::move(*l);
}

Result<LinkInfo> Rtnl::link(int ifindex) {
  if (ifindex <= 0) return make_error("link #{}: {}", ifindex, errstr(ENODEV));
  WEFT_TRY(l, get_link({}, ifindex));
  if (!l) return make_error("link #{}: {}", ifindex, errstr(ENODEV));
  return std::move(*l);
}

Result<std::vector<LinkInfo>> Rtnl::links() {
  Msg m;
  auto* ifi = m.start<ifinfomsg>(RTM_GETLINK, NLM_F_DUMP);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_u32(m.nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  std::vector<LinkInfo> out;
  int e = transact(
      m.nlh,
      [&](const nlmsghdr* nlh) {
        if (auto l = parse_link(nlh)) out.push_back(std::move(*l));
      },
      [&] { out.clear(); });
  if (e != 0) return make_error("list links: {}", errstr(e));
  return out;
}

Result<void> Rtnl::create_bridge(const BridgeSpec& spec) {
  WEFT_TRY_VOID(check_name("create bridge", spec.name));
  Msg m;
  auto* ifi = m.start<ifinfomsg>(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  ifi->ifi_family = AF_UNSPEC;
  put_name(m.nlh, IFLA_IFNAME, spec.name);
  if (spec.mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, *spec.mtu);
  if (spec.mac) mnl_attr_put(m.nlh, IFLA_ADDRESS, 6, spec.mac->bytes().data());
  nlattr* info = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(m.nlh, info);
  if (int e = transact(m.nlh); e != 0)
    return make_error("create bridge {}: {}", spec.name, errstr(e));
  return {};
}

Result<void> Rtnl::create_veth(const VethSpec& spec) {
  WEFT_TRY_VOID(check_name("create veth", spec.name));
  WEFT_TRY_VOID(check_name("create veth peer", spec.peer_name));
  Msg m;
  auto* ifi = m.start<ifinfomsg>(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  ifi->ifi_family = AF_UNSPEC;
  put_name(m.nlh, IFLA_IFNAME, spec.name);
  if (spec.mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, *spec.mtu);
  nlattr* info = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(m.nlh, IFLA_INFO_DATA);
  nlattr* peer = mnl_attr_nest_start(m.nlh, VETH_INFO_PEER);
  // VETH_INFO_PEER carries a whole ifinfomsg followed by the peer's own attributes.
  std::memset(mnl_nlmsg_get_payload_tail(m.nlh), 0, sizeof(ifinfomsg));
  m.nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
  put_name(m.nlh, IFLA_IFNAME, spec.peer_name);
  if (spec.mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, *spec.mtu);
  if (spec.peer_netns != nullptr) {
    mnl_attr_put_u32(m.nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(spec.peer_netns->fd()));
  }
  mnl_attr_nest_end(m.nlh, peer);
  mnl_attr_nest_end(m.nlh, data);
  mnl_attr_nest_end(m.nlh, info);
  if (int e = transact(m.nlh); e != 0) {
    return make_error("create veth {} (peer {}): {}", spec.name, spec.peer_name, errstr(e));
  }
  return {};
}

Result<void> Rtnl::create_vxlan_external(std::string_view name, std::uint16_t port, std::uint32_t mtu) {
  WEFT_TRY_VOID(check_name("create vxlan", name));
  Msg m;
  auto* ifi = m.start<ifinfomsg>(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  ifi->ifi_family = AF_UNSPEC;
  put_name(m.nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32(m.nlh, IFLA_MTU, mtu);
  nlattr* info = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, "vxlan");
  nlattr* data = mnl_attr_nest_start(m.nlh, IFLA_INFO_DATA);
  mnl_attr_put_u8(m.nlh, IFLA_VXLAN_COLLECT_METADATA, 1);
  mnl_attr_put_u8(m.nlh, IFLA_VXLAN_LEARNING, 0);
  mnl_attr_put_u16(m.nlh, IFLA_VXLAN_PORT, htons(port));
  mnl_attr_nest_end(m.nlh, data);
  mnl_attr_nest_end(m.nlh, info);
  if (int e = transact(m.nlh); e != 0) return make_error("create vxlan {} (port {}): {}", name, port, errstr(e));
  return {};
}

Result<void> Rtnl::modify_link(std::string_view what, std::string_view name,
                               const std::function<void(nlmsghdr*)>& fill, unsigned change,
                               unsigned flags) {
  WEFT_TRY(l, link(name));
  Msg m;
  auto* ifi = m.start<ifinfomsg>(RTM_NEWLINK, NLM_F_ACK);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = l.ifindex;
  ifi->ifi_change = change;
  ifi->ifi_flags = flags;
  if (fill) fill(m.nlh);
  if (int e = transact(m.nlh); e != 0) return make_error("{} {}: {}", what, name, errstr(e));
  return {};
}

Result<void> Rtnl::set_master(std::string_view name, std::string_view master) {
  WEFT_TRY(br, link(master));
  return modify_link("set master of", name, [&](nlmsghdr* nlh) {
    mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<std::uint32_t>(br.ifindex));
  });
}

Result<void> Rtnl::set_nomaster(std::string_view name) {
  return modify_link("set nomaster", name,
                     [](nlmsghdr* nlh) { mnl_attr_put_u32(nlh, IFLA_MASTER, 0); });
}

Result<void> Rtnl::set_up(std::string_view name, bool up) {
  return modify_link(up ? "set up" : "set down", name, {}, IFF_UP, up ? IFF_UP : 0);
}

Result<void> Rtnl::set_mtu(std::string_view name, std::uint32_t mtu) {
  return modify_link(fmt::format("set mtu {} on", mtu), name,
                     [&](nlmsghdr* nlh) { mnl_attr_put_u32(nlh, IFLA_MTU, mtu); });
}

Result<void> Rtnl::set_mac(std::string_view name, const Mac& mac) {
  return modify_link(fmt::format("set mac {} on", mac), name, [&](nlmsghdr* nlh) {
    mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac.bytes().data());
  });
}

Result<void> Rtnl::rename(std::string_view name, std::string_view new_name) {
  WEFT_TRY_VOID(check_name("rename to", new_name));
  return modify_link(fmt::format("rename to {}:", new_name), name,
                     [&](nlmsghdr* nlh) { put_name(nlh, IFLA_IFNAME, new_name); });
}

Result<void> Rtnl::move_to_netns(std::string_view name, const Netns& ns) {
  return modify_link("move to netns", name, [&](nlmsghdr* nlh) {
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(ns.fd()));
  });
}

Result<void> Rtnl::delete_link(std::string_view name) {
  WEFT_TRY(l, link(name));
  Msg m;
  auto* ifi = m.start<ifinfomsg>(RTM_DELLINK, NLM_F_ACK);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = l.ifindex;
  if (int e = transact(m.nlh); e != 0) return make_error("delete link {}: {}", name, errstr(e));
  return {};
}

// ---- bridge ports -------------------------------------------------------------------------------

Result<void> Rtnl::set_hairpin(std::string_view port, bool on) {
  WEFT_TRY(l, link(port));
  if (l.master == 0) return make_error("set hairpin on {}: not a bridge port", port);
  // `bridge link set dev PORT hairpin on`: RTM_SETLINK in family AF_BRIDGE reaches the bridge's
  // ndo_bridge_setlink, which reads IFLA_PROTINFO (nested) as port attributes.
  Msg m;
  auto* ifi = m.start<ifinfomsg>(RTM_SETLINK, NLM_F_ACK);
  ifi->ifi_family = AF_BRIDGE;
  ifi->ifi_index = l.ifindex;
  nlattr* proto = nest_start_flagged(m.nlh, IFLA_PROTINFO);
  mnl_attr_put_u8(m.nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(m.nlh, proto);
  if (int e = transact(m.nlh); e != 0) {
    return make_error("set hairpin {} on {}: {}", on ? "on" : "off", port, errstr(e));
  }
  return {};
}

Result<bool> Rtnl::hairpin(std::string_view port) {
  WEFT_TRY(l, link(port));
  if (!l.hairpin) return make_error("hairpin of {}: not a bridge port", port);
  return *l.hairpin;
}

// ---- addresses ----------------------------------------------------------------------------------

Result<void> Rtnl::change_address(bool add, std::string_view ifname, const Cidr& cidr,
                                  std::optional<Ipv4> broadcast) {
  WEFT_TRY(l, link(ifname));
  Msg m;
  auto* ifa = m.start<ifaddrmsg>(add ? RTM_NEWADDR : RTM_DELADDR,
                                 add ? NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL : NLM_F_ACK);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = cidr.prefix();
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<std::uint32_t>(l.ifindex);
  put_ipv4(m.nlh, IFA_LOCAL, cidr.addr());
  put_ipv4(m.nlh, IFA_ADDRESS, cidr.addr());
  if (add) {
    if (!broadcast && cidr.prefix() <= 30) broadcast = Ipv4(cidr.addr().value() | ~cidr.mask());
    if (broadcast) put_ipv4(m.nlh, IFA_BROADCAST, *broadcast);
  }
  if (int e = transact(m.nlh); e != 0) {
    return make_error("{} address {} {} {}: {}", add ? "add" : "delete", cidr, add ? "to" : "from",
                      ifname, errstr(e));
  }
  return {};
}

Result<void> Rtnl::add_address(std::string_view ifname, const Cidr& cidr,
                               std::optional<Ipv4> broadcast) {
  return change_address(true, ifname, cidr, broadcast);
}

Result<void> Rtnl::delete_address(std::string_view ifname, const Cidr& cidr) {
  return change_address(false, ifname, cidr, std::nullopt);
}

Result<std::vector<AddrInfo>> Rtnl::all_addresses() {
  Msg m;
  auto* ifa = m.start<ifaddrmsg>(RTM_GETADDR, NLM_F_DUMP);
  ifa->ifa_family = AF_INET;
  std::vector<AddrInfo> out;
  int e = transact(
      m.nlh,
      [&](const nlmsghdr* nlh) {
        if (auto a = parse_addr(nlh)) out.push_back(*a);
      },
      [&] { out.clear(); });
  if (e != 0) return make_error("list addresses: {}", errstr(e));
  return out;
}

Result<std::vector<AddrInfo>> Rtnl::addresses(std::string_view ifname) {
  WEFT_TRY(l, link(ifname));
  WEFT_TRY(all, all_addresses());
  std::vector<AddrInfo> out;
  for (auto& a : all) {
    if (a.ifindex == l.ifindex) out.push_back(a);
  }
  return out;
}

// ---- bridge forwarding table --------------------------------------------------------------------

Result<std::vector<FdbEntry>> Rtnl::bridge_fdb(int bridge_ifindex) {
  Msg m;
  auto* ndm = m.start<ndmsg>(RTM_GETNEIGH, NLM_F_DUMP);
  ndm->ndm_family = AF_BRIDGE;
  mnl_attr_put_u32(m.nlh, NDA_MASTER, static_cast<std::uint32_t>(bridge_ifindex));
  std::vector<FdbEntry> out;
  int e = transact(
      m.nlh,
      [&](const nlmsghdr* nlh) {
        if (auto f = parse_fdb(nlh, bridge_ifindex)) out.push_back(*f);
      },
      [&] { out.clear(); });
  if (e != 0) return make_error("list the forwarding table of bridge #{}: {}", bridge_ifindex, errstr(e));
  return out;
}

// ---- routes -------------------------------------------------------------------------------------

Result<void> Rtnl::add_route(const Cidr& dst, std::string_view ifname, RouteScope scope,
                             bool exist_ok, std::optional<Ipv4> gateway) {
  WEFT_TRY(l, link(ifname));
  Msg m;
  auto* rtm = m.start<rtmsg>(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = dst.prefix();
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = static_cast<std::uint8_t>(scope);
  rtm->rtm_type = RTN_UNICAST;
  if (dst.prefix() > 0) put_ipv4(m.nlh, RTA_DST, dst.network().addr());
  if (gateway) put_ipv4(m.nlh, RTA_GATEWAY, *gateway);
  mnl_attr_put_u32(m.nlh, RTA_OIF, static_cast<std::uint32_t>(l.ifindex));
  int e = transact(m.nlh);
  if (e == EEXIST && exist_ok) return {};
  if (e != 0) {
    if (gateway) {
      return make_error("add route {} via {} dev {}: {}", dst.network(), *gateway, ifname, errstr(e));
    }
    return make_error("add route {} dev {}: {}", dst.network(), ifname, errstr(e));
  }
  return {};
}

Result<std::vector<RouteInfo>> Rtnl::routes() {
  Msg m;
  auto* rtm = m.start<rtmsg>(RTM_GETROUTE, NLM_F_DUMP);
  rtm->rtm_family = AF_INET;
  std::vector<RouteInfo> out;
  int e = transact(
      m.nlh,
      [&](const nlmsghdr* nlh) {
        if (auto r = parse_route(nlh); r && r->table == RT_TABLE_MAIN) out.push_back(*r);
      },
      [&] { out.clear(); });
  if (e != 0) return make_error("list routes: {}", errstr(e));
  return out;
}

// ---- namespaces ---------------------------------------------------------------------------------

Result<std::optional<std::int32_t>> Rtnl::netns_id(const Netns& other) {
  Msg m;
  auto* g = m.start<rtgenmsg>(RTM_GETNSID, NLM_F_ACK);
  g->rtgen_family = AF_UNSPEC;
  mnl_attr_put_u32(m.nlh, NETNSA_FD, static_cast<std::uint32_t>(other.fd()));
  std::optional<std::int32_t> id;
  int e = transact(m.nlh, [&](const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != RTM_NEWNSID) return;
    auto tb = parse_attrs<NETNSA_MAX>(nlh, sizeof(rtgenmsg));
    if (has_u32(tb[NETNSA_NSID])) {
      auto v = static_cast<std::int32_t>(mnl_attr_get_u32(tb[NETNSA_NSID]));
      if (v >= 0) id = v;
    }
  });
  if (e != 0) return make_error("get netns id: {}", errstr(e));
  return id;
}

}  // namespace weft::datapath::host
