// `weaver util <subcommand>`: host plumbing for scripts/weave, as Weave's weaveutil. Each
// subcommand exits 0 on success, or prints one line on stderr and exits 1. The work itself is
// done by weft::datapath_linux; this file parses arguments and prints results.
//
// iptables: `hide` takes away the expose rules of §6.8 once no bridge address is left in that
// subnet, `destroy-bridge` (weave reset) every rule of §11.8. Weave's container INPUT rules for
// multicast (spec §11.4 f/i) are not set up.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/attach/linux_host.hpp"
#include "weft/attach/weave_cli.hpp"
#include "weft/base/ipv4.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/mac.hpp"
#include "weft/base/result.hpp"
#include "weft/datapath/kernel_fastdp.hpp"
#include "weft/datapath/linux/container_attach.hpp"
#include "weft/datapath/linux/host_setup.hpp"
#include "weft/datapath/linux/iptables.hpp"
#include "weft/datapath/linux/iptables_plan.hpp"
#include "weft/datapath/linux/netns.hpp"
#include "weft/datapath/linux/rtnl.hpp"

namespace weft::weaver {

int run_util_attach(bool detach, const std::vector<std::string>& args);  // util_attach.cpp

namespace {

namespace host = weft::datapath::host;
using Args = std::vector<std::string>;

constexpr std::string_view kUsage =
    "usage: weaver util <subcommand> ...\n"
    "  create-bridge [--mtu N] [--mac MAC] BRIDGE\n"
    "  destroy-bridge [--port N] [--http-port N] [--docker-bridge NAME] BRIDGE\n"
    "  attach [--without-dns] [--no-multicast-route] [--router-running] [--fqdn FQDN] [--http-addr ADDR]\n"
    "         IDENT NETNS BRIDGE [ADDR...]   (`weave attach`: IPAM, link, weaveDNS; ADDR as the script's)\n"
    "  detach [--router-running] [--fqdn FQDN] [--http-addr ADDR] IDENT NETNS BRIDGE [ADDR...]\n"
    "  attach-container [--no-multicast-route] [--keep-tx-on] NETNS BRIDGE CIDR...\n"
    "  detach-container NETNS CIDR...\n"
    "  container-addrs [--skip-unreadable] BRIDGE NETNS|weave:expose...\n"
    "  expose BRIDGE CIDR\n"
    "  hide BRIDGE CIDR\n"
    "NETNS is a namespace file (/run/netns/NAME, /proc/PID/ns/net), netns:NAME or pid:PID.\n";

Logger make_logger() {
  auto level = LogLevel::warn;
  if (const char* d = std::getenv("WEAVE_DEBUG"); d != nullptr && *d != '\0')
    level = LogLevel::debug;
  return Logger("weaver util", std::make_shared<StderrSink>(), level);
}

Result<std::vector<Cidr>> parse_cidrs(const Args& args, std::size_t from) {
  std::vector<Cidr> out;
  for (std::size_t i = from; i < args.size(); ++i) {
    auto c = Cidr::parse(args[i]);
    if (!c) return make_error("invalid CIDR '{}'", args[i]);
    out.push_back(*c);
  }
  return out;
}

Result<std::uint32_t> parse_mtu(const std::string& s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 68 || v > 65535) {
    return make_error("invalid MTU '{}' (68-65535)", s);
  }
  return v;
}

std::string join_cidrs(const std::vector<Cidr>& cidrs) {
  std::string s;
  for (const auto& c : cidrs) s += " " + c.str();
  return s;
}

Result<void> usage_error(std::string_view what) {
  return make_error("{} (see 'weaver util help')", what);
}

Result<void> create_bridge(const Args& a) {
  host::BridgeConfig cfg;
  std::vector<std::string> pos;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((a[i] == "--mtu" || a[i] == "--mac") && i + 1 >= a.size())
      return make_error("{} needs a value", a[i]);
    if (a[i] == "--mtu") {
      WEFT_TRY(mtu, parse_mtu(a[++i]));
      cfg.mtu = mtu;
    } else if (a[i] == "--mac") {
      auto m = Mac::parse(a[++i]);
      if (!m) return make_error("invalid MAC '{}'", a[i]);
      cfg.mac = *m;
    } else {
      pos.push_back(a[i]);
    }
  }
  if (pos.size() != 1) return usage_error("create-bridge needs exactly one BRIDGE");
  cfg.name = pos[0];
  WEFT_TRY(st, host::HostSetup(make_logger()).ensure_bridge(cfg));
  (void)st;
  return {};
}

Result<std::uint16_t> parse_port(const std::string& s) {
  std::uint16_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0) return make_error("invalid port '{}'", s);
  return v;
}

/// weave reset: every rule of spec §11.8 (both FORWARD variants, the INPUT rules for these
/// ports, WEAVE and WEAVE-EXPOSE with their hooks, empty NPC chains), the no-masq-local set,
/// then the bridge and its veths.
Result<void> destroy_bridge(const Args& a) {
  host::RouterRulesConfig cfg;
  cfg.docker_bridge = "docker0";
  cfg.control_port = 6784;
  Args pos;
  for (std::size_t i = 0; i < a.size(); ++i) {
    bool takes = a[i] == "--port" || a[i] == "--http-port" || a[i] == "--docker-bridge";
    if (takes && i + 1 >= a.size()) return make_error("{} needs a value", a[i]);
    if (a[i] == "--port") {
      WEFT_TRY(p, parse_port(a[++i]));
      cfg.port = p;
    } else if (a[i] == "--http-port") {
      WEFT_TRY(p, parse_port(a[++i]));
      cfg.control_port = p;
    } else if (a[i] == "--docker-bridge") {
      cfg.docker_bridge = a[++i];
    } else {
      pos.push_back(a[i]);
    }
  }
  if (pos.size() != 1) return usage_error("destroy-bridge needs exactly one BRIDGE");
  cfg.bridge = pos[0];
  auto log = make_logger();
  if (!cfg.docker_bridge.empty()) {
    if (auto nl = host::Rtnl::open()) {
      if (auto addrs = nl->addresses(cfg.docker_bridge); addrs && !addrs->empty()) {
        cfg.docker_bridge_ip = addrs->front().cidr.addr();
      }
    }
  }
  host::Iptables ipt;
  if (auto r = ipt.remove(host::reset_rules(cfg)); !r) log.warn("{}", r.error().message);
  if (auto r = ipt.destroy_ipset(host::kNoMasqLocalSet); !r) log.warn("{}", r.error().message);
  // The kernel fast path's VXLAN device (vxlan-<port+1>) and qdisc, if a weaver left them.
  int port = 6783;
  if (const char* p = std::getenv("WEAVE_PORT"); p != nullptr && *p != '\0') port = std::atoi(p);
  if (auto k = datapath::KernelFastdp::cleanup(std::string(host::kVethBridgeEnd), fmt::format("vxlan-{}", port + 1)); !k) {
    log.warn("{}", k.error().message);
  }
  return host::HostSetup(log).destroy_bridge(cfg.bridge);
}

/// The link steps alone, through the one attach plan (`weave attach` runs the whole plan with
/// `weaver util attach`, util_attach.cpp).
Result<void> attach_container(const Args& a) {
  attach::Request rq;
  rq.veth = attach::VethStep{};
  Args pos;
  for (const auto& s : a) {
    if (s == "--no-multicast-route") {
      rq.multicast_route = false;
    } else if (s == "--keep-tx-on") {
      rq.veth->keep_tx_on = true;
    } else if (s.rfind("--", 0) == 0) {
      return usage_error(fmt::format("unknown flag {}", s));
    } else {
      pos.push_back(s);
    }
  }
  if (pos.size() < 3) return usage_error("attach-container needs NETNS BRIDGE CIDR...");
  std::string path = attach::netns_file(pos[0]);
  WEFT_TRY(ns, host::Netns::open(path));
  rq.veth->bridge = pos[1];
  WEFT_TRY(cidrs, parse_cidrs(pos, 2));
  rq.addresses = std::move(cidrs);
  rq.veth->veth_id = host::veth_id_for(path, ns.inode());
  attach::LinuxAttachHost h({.netns = &ns, .log = make_logger()});
  auto out = attach::execute(attach::plan(std::move(rq)), h);
  if (out.failure) return Error{out.failure->message};
  return {};
}

Result<void> detach_container(const Args& a) {
  if (a.size() < 2) return usage_error("detach-container needs NETNS CIDR...");
  WEFT_TRY(ns, host::Netns::open(attach::netns_file(a[0])));
  WEFT_TRY(cidrs, parse_cidrs(a, 1));
  WEFT_TRY(deleted, host::detach_container(ns, cidrs));
  (void)deleted;
  return {};
}

/// Prints "<arg> <MAC> <cidr>..." per weave interface; keeps going past namespaces that cannot
/// be read and reports the first such error at the end. With --skip-unreadable, namespaces that
/// cannot be opened (e.g. deleted while `weave ps` lists /run/netns) are skipped silently.
Result<void> container_addrs(const Args& args) {
  Args a = args;
  bool skip_unreadable = false;
  if (!a.empty() && a[0] == "--skip-unreadable") {
    skip_unreadable = true;
    a.erase(a.begin());
  }
  if (a.empty()) return usage_error("container-addrs needs BRIDGE [NETNS...]");
  const std::string& bridge = a[0];
  std::optional<Error> first;
  for (std::size_t i = 1; i < a.size(); ++i) {
    const std::string& arg = a[i];
    if (arg == "weave:expose") {
      auto st = host::HostSetup(make_logger()).inspect(bridge);
      if (!st) {
        if (!first) first = st.error();
        continue;
      }
      std::printf("%s %s%s\n", arg.c_str(), st->bridge.mac.str().c_str(),
                  join_cidrs(st->addresses).c_str());
      continue;
    }
    auto ns = host::Netns::open(attach::netns_file(arg));
    if (!ns) {
      if (!skip_unreadable && !first) first = ns.error();
      continue;
    }
    auto ifaces = host::container_interfaces(*ns, bridge);
    if (!ifaces) {
      if (!first) first = ifaces.error();
      continue;
    }
    for (const auto& f : *ifaces) {
      std::printf("%s %s%s\n", arg.c_str(), f.mac.str().c_str(), join_cidrs(f.cidrs).c_str());
    }
  }
  std::fflush(stdout);
  if (first) return *first;
  return {};
}

Result<void> expose_or_hide(bool expose, const Args& a) {
  if (a.size() != 2)
    return usage_error(fmt::format("{} needs BRIDGE CIDR", expose ? "expose" : "hide"));
  auto c = Cidr::parse(a[1]);
  if (!c) return make_error("invalid CIDR '{}'", a[1]);
  host::HostSetup hs(make_logger());
  auto r = expose ? hs.expose(a[0], *c) : hs.hide(a[0], *c);
  if (!r) return r.error();
  if (expose) return {};
  // The subnet's expose rules go with its last address on the bridge (several addresses of one
  // subnet share them).
  WEFT_TRY(st, hs.inspect(a[0]));
  for (const auto& left : st.addresses) {
    if (left.network() == c->network()) return {};
  }
  host::RouterRulesConfig cfg;
  cfg.bridge = a[0];
  auto plan = host::expose_rules(cfg, *c, true);  // without NPC: the WEAVE-EXPOSE rule too
  return host::Iptables().remove(plan);
}

}  // namespace

int run_util(int argc, char** argv) {
  // argv[0] is "util".
  if (argc < 2) {
    std::fputs(kUsage.data(), stderr);
    return 1;
  }
  std::string sub = argv[1];
  Args args(argv + 2, argv + argc);
  Result<void> r;
  if (sub == "help" || sub == "--help" || sub == "-h") {
    std::fputs(kUsage.data(), stdout);
    return 0;
  } else if (sub == "create-bridge") {
    r = create_bridge(args);
  } else if (sub == "destroy-bridge") {
    r = destroy_bridge(args);
  } else if (sub == "attach" || sub == "detach") {
    return run_util_attach(sub == "detach", args);
  } else if (sub == "attach-container") {
    r = attach_container(args);
  } else if (sub == "detach-container") {
    r = detach_container(args);
  } else if (sub == "container-addrs") {
    r = container_addrs(args);
  } else if (sub == "expose") {
    r = expose_or_hide(true, args);
  } else if (sub == "hide") {
    r = expose_or_hide(false, args);
  } else {
    r = usage_error(fmt::format("unknown subcommand '{}'", sub));
  }
  if (!r) {
    std::fprintf(stderr, "weaver util %s: %s\n", sub.c_str(), r.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace weft::weaver
