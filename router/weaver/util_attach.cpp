// `weaver util attach|detach`: the whole of `weave attach` / `weave detach` (spec §11.4) for
// scripts/weave, through the one attach plan: attach/core turns the script's arguments into the
// plan (weave_cli.hpp), and LinuxAttachHost carries out IPAM, the link steps and weaveDNS against
// the router's HTTP API. Messages and exit codes are the script's (Weave's), printed as they are:
//   stdout: the addresses, space-separated;  stderr: the router's answer, or one of
//   "IP address allocation must be enabled to use 'net:'", "No IP address found for ...",
//   "Container X died", "weave container is not present. Have you launched it?".
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "weft/attach/linux_host.hpp"
#include "weft/attach/weave_cli.hpp"
#include "weft/base/logger.hpp"
#include "weft/datapath/linux/container_attach.hpp"
#include "weft/datapath/linux/netns.hpp"
#include "weft/http/client.hpp"
#include "weft/http/listen_address.hpp"

namespace weft::weaver {
namespace {

namespace host = weft::datapath::host;
using Args = std::vector<std::string>;

struct UtilAttachArgs {
  attach::WeaveCommand cmd;
  std::string netns;      ///< as given: netns:NAME, pid:PID or a path
  std::string http_addr;  ///< as the script knows it (for messages)
};

void say(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

Result<UtilAttachArgs> parse(bool detach, const Args& a) {
  UtilAttachArgs u;
  Args pos;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string& s = a[i];
    bool takes = s == "--fqdn" || s == "--http-addr";
    if (takes && i + 1 >= a.size()) return make_error("{} needs a value", s);
    if (s == "--fqdn") {
      u.cmd.fqdn = a[++i];
    } else if (s == "--http-addr") {
      u.http_addr = a[++i];
    } else if (s == "--router-running") {
      u.cmd.router_running = true;
    } else if (!detach && s == "--without-dns") {
      u.cmd.without_dns = true;
    } else if (!detach && s == "--no-multicast-route") {
      u.cmd.multicast_route = false;
    } else if (s.starts_with("--")) {
      return make_error("unknown flag {}", s);
    } else {
      pos.push_back(s);
    }
  }
  if (pos.size() < 3) return make_error("{} needs IDENT NETNS BRIDGE [ADDR...]", detach ? "detach" : "attach");
  u.cmd.ident = pos[0];
  u.netns = pos[1];
  u.cmd.bridge = pos[2];
  u.cmd.addr_args.assign(pos.begin() + 3, pos.end());
  return u;
}

/// The script's call_weave when no HTTP answer comes: false after saying why.
bool router_answers(const http::Endpoint& ep, const UtilAttachArgs& u) {
  boost::asio::io_context io;
  auto s = http::dial(io, ep);
  if (s) return true;
  if (u.cmd.router_running) {
    say(s.error().message);
    say(fmt::format("weave container is running but not answering on {}.", u.http_addr));
  } else {
    say("weave container is not present. Have you launched it?");
  }
  return false;
}

/// "Container X died" when the container's process (pid:N, /proc/N/...) is gone.
void say_if_died(const UtilAttachArgs& u) {
  std::string path;
  if (u.netns.starts_with("pid:")) path = "/proc/" + u.netns.substr(4);
  if (u.netns.starts_with("/proc/")) path = u.netns;
  std::error_code ec;
  if (!path.empty() && !std::filesystem::exists(path, ec)) say(fmt::format("Container {} died", u.cmd.ident));
}

int run(bool detach, const Args& args) {
  auto u = parse(detach, args);
  if (!u) {
    say(fmt::format("weaver util {}: {} (see 'weaver util help')", detach ? "detach" : "attach", u.error().message));
    return 1;
  }
  auto fail = [&](const std::string& msg) {
    say(fmt::format("weaver util {}: {}", detach ? "detach" : "attach", msg));
    return 1;
  };
  std::optional<http::Endpoint> router;
  if (!u->http_addr.empty()) {
    auto ep = http::Endpoint::parse(http::dial_address(u->http_addr));
    if (!ep) return fail(ep.error().message);
    router = *ep;
  }
  std::string path = attach::netns_file(u->netns);
  auto ns = host::Netns::open(path);
  if (!ns) {
    int rc = fail(ns.error().message);
    say_if_died(*u);
    return rc;
  }
  u->cmd.veth_id = host::veth_id_for(path, ns->inode());
  attach::LinuxAttachHost h({.netns = &*ns,
                             .router = router,
                             .names_check_alive = true,
                             .dns_errors_bare = true,
                             .log = Logger("weaver util", std::make_shared<StderrSink>(), LogLevel::warn)});

  if (detach) {
    auto plan = attach::weave_detach_plan(u->cmd);
    if (!plan) return fail(plan.error().message);
    bool needs_router = !plan->lookups.empty() || plan->router_running;
    if (needs_router && (!router || !router_answers(*router, *u))) return 1;
    auto out = attach::execute_detach(*plan, h);
    if (out.failure) {
      if (out.failure->step == attach::Step::ipam) {
        say(out.failure->message);
        return 1;
      }
      return fail(out.failure->message);
    }
    for (const auto& w : out.warnings) {
      if (w.step == attach::Step::release) say(w.message);  // the script showed these, and went on
    }
    std::printf("%s\n", attach::show_addrs(out.addresses).c_str());
    return 0;
  }

  auto rq = attach::weave_attach_request(u->cmd);
  if (!rq) return fail(rq.error().message);
  auto plan = attach::plan(std::move(*rq));
  bool needs_router = !plan.request.fqdn.empty();
  for (const auto& r : plan.ipam) needs_router = needs_router || r.kind != attach::IpamRequest::Kind::given;
  if (needs_router && (!router || !router_answers(*router, *u))) return 1;
  auto out = attach::execute(plan, h);
  if (out.failure) {
    if (out.failure->step == attach::Step::ipam) {
      say(out.failure->message);
      return 1;
    }
    int rc = fail(out.failure->message);
    say_if_died(*u);
    return rc;
  }
  for (const auto& w : out.warnings) {
    if (w.step == attach::Step::dns) {
      say(w.message);
      return 1;
    }
  }
  std::printf("%s\n", attach::show_addrs(out.allocated).c_str());
  return 0;
}

}  // namespace

/// `weaver util attach|detach ...` (the script's exit code).
int run_util_attach(bool detach, const Args& args) { return run(detach, args); }

}  // namespace weft::weaver
