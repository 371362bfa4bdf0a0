// The CNI commands (see plugin.hpp).
#include "weft/cni/plugin.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>

#include "weft/attach/executor.hpp"
#include "weft/attach/linux_host.hpp"
#include "weft/cni/result.hpp"
#include "weft/datapath/linux/container_attach.hpp"
#include "weft/datapath/linux/iptables.hpp"
#include "weft/datapath/linux/netns.hpp"
#include "weft/datapath/linux/rtnl.hpp"
#include "weft/http/client.hpp"
#include "weft/plugin/router_http_api.hpp"

extern char** environ;

namespace weft::cni {

namespace host = weft::datapath::host;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kExposeId = "weave:expose";

/// Everything one invocation needs while it runs.
struct Ctx {
  Role role;
  const Env& env;
  std::string version = "0.1.0";  ///< the config's, for the output format
  std::string stderr_text;
  void log(std::string_view msg) { stderr_text += fmt::format("weave-cni: {}\n", msg); }
};

Outcome fail(Ctx& c, const CniError& e) {
  return Outcome{1, encode_error(e, c.version), c.stderr_text};
}

/// A router error is "try again later" when the router did not answer at all.
CniError router_error(std::string prefix, const Error& e) {
  bool answered = e.message.size() >= 4 && std::isdigit(static_cast<unsigned char>(e.message[0])) &&
                  std::isdigit(static_cast<unsigned char>(e.message[1])) &&
                  std::isdigit(static_cast<unsigned char>(e.message[2])) && e.message[3] == ' ';
  return CniError{answered ? kPluginError : kTryAgainLater, prefix + e.message, ""};
}

plugin::RouterHttpApi router_for(const Env& env) {
  auto ep = http::Endpoint::parse(router_address(env.weave_http_addr));
  if (!ep) ep = http::Endpoint::parse("127.0.0.1:6784");
  // NB: no timeout, as Weave: allocation blocks until the ring has space; the runtime's own CNI
  // timeout applies.
  return plugin::RouterHttpApi(*ep, std::chrono::hours(24));
}

std::optional<CniError> require_env(const Env& env, bool need_netns) {
  std::vector<std::string> missing;
  if (env.command.empty()) missing.emplace_back("CNI_COMMAND");
  if (env.container_id.empty()) missing.emplace_back("CNI_CONTAINERID");
  if (need_netns && env.netns.empty()) missing.emplace_back("CNI_NETNS");
  if (env.ifname.empty()) missing.emplace_back("CNI_IFNAME");
  if (missing.empty()) return std::nullopt;
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  return CniError{kInvalidEnvironment, "required env variables missing", list};
}

bool valid_ifname(std::string_view n) {
  if (n.empty() || n.size() > 15 || n == "." || n == "..") return false;
  for (char c : n) {
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n') return false;
  }
  return true;
}

/// The veth suffix: CNI_CONTAINERID, or 10 random hex characters when it is shorter than 5.
std::string veth_id(const std::string& container_id) {
  if (container_id.size() >= 5) return container_id.substr(0, host::kVethIdMax);
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 10; ++i) s += "0123456789abcdef"[rd() % 16];
  return s.substr(0, host::kVethIdMax);
}

// ---- delegated IPAM ----------------------------------------------------------------------------

struct ExecResult {
  int status = -1;
  std::string out;
};

/// Runs PROGRAM with the same environment except CNI_COMMAND=COMMAND (and CNI_CONTAINERID=ID when
/// given), STDIN on its stdin; returns its exit status and stdout.
Result<ExecResult> exec_plugin(const std::string& program, const std::string& command,
                               std::string_view stdin_bytes, const std::string& id_override = "") {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return make_error("pipe: {}", std::strerror(errno));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return make_error("pipe: {}", std::strerror(errno));
  }
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("CNI_COMMAND=")) continue;
    if (!id_override.empty() && kv.starts_with("CNI_CONTAINERID=")) continue;
    envs.emplace_back(kv);
  }
  envs.push_back("CNI_COMMAND=" + command);
  if (!id_override.empty()) envs.push_back("CNI_CONTAINERID=" + id_override);
  std::vector<char*> envp;
  for (auto& s : envs) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string prog = program;
  char* argv[] = {prog.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, prog.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    return make_error("exec {}: {}", program, std::strerror(rc));
  }
  // NB: the IPAM plugin reads all of stdin before writing, and configs are small.
  std::string_view rest = stdin_bytes;
  while (!rest.empty()) {
    ssize_t n = write(in[1], rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  close(in[1]);
  ExecResult r;
  char buf[4096];
  while (true) {
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.out.size() < 1024 * 1024) r.out.append(buf, static_cast<std::size_t>(n));
  }
  close(out[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  return r;
}

std::optional<std::string> find_plugin(const std::string& type, const std::string& cni_path) {
  if (type.find('/') != std::string::npos) return std::nullopt;
  std::stringstream ss(cni_path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    fs::path p = fs::path(dir) / type;
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return std::nullopt;
}

/// The delegate's error JSON as Weave shows it: "<msg>[; <details>]".
std::string delegate_error(const ExecResult& r) {
  auto j = Json::parse(r.out, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    std::string msg = j.value("msg", "");
    std::string details = j.value("details", "");
    if (!details.empty()) msg += "; " + details;
    if (!msg.empty()) return msg;
  }
  return fmt::format("exit status {}", r.status);
}

// ---- address ------------------------------------------------------------------------------------

/// ipam.type "" → the router; else the delegate plugin. Returns the IPAM result.
std::variant<AddResult, CniError> get_ip(Ctx& c, const NetConf& conf, std::string_view stdin_bytes,
                                         const std::string& id) {
  if (conf.ipam.type.empty()) {
    if (id.empty()) return CniError{kInvalidEnvironment, "Weave CNI Allocate: blank container name", ""};
    auto router = router_for(c.env);
    std::optional<Cidr> subnet;
    if (conf.ipam.subnet) subnet = Cidr::parse(*conf.ipam.subnet);
    auto a = router.allocate(id, subnet);
    if (!a) return router_error("unable to allocate IP address: ", a.error());
    AddResult r;
    r.ips.push_back({*a, conf.ipam.gateway, std::nullopt});
    r.routes = conf.ipam.routes;
    return r;
  }
  auto prog = find_plugin(conf.ipam.type, c.env.path);
  if (!prog) {
    return CniError{kInvalidConfig, "unable to allocate IP address: failed to find plugin \"" +
                                        conf.ipam.type + "\" in path [" + c.env.path + "]", ""};
  }
  auto r = exec_plugin(*prog, "ADD", stdin_bytes, id == c.env.container_id ? "" : id);
  if (!r) return CniError{kIoFailure, "unable to allocate IP address: " + r.error().message, ""};
  if (r->status != 0) return CniError{kPluginError, "unable to allocate IP address: " + delegate_error(*r), ""};
  auto j = Json::parse(r->out, nullptr, false);
  if (j.is_discarded()) return CniError{kPluginError, "Received no usable result from IPAM plugin", ""};
  auto res = decode_result(j);
  if (auto* e = std::get_if<CniError>(&res)) return *e;
  auto out = std::get<AddResult>(std::move(res));
  if (out.ips.empty()) return CniError{kPluginError, "IPAM plugin failed to allocate IP address", ""};
  return out;
}

/// Gives back what get_ip took (ADD failed after allocating, or DEL).
Result<void> release_ip(Ctx& c, const NetConf& conf, std::string_view stdin_bytes) {
  if (conf.ipam.type.empty()) return router_for(c.env).release_ident(c.env.container_id);
  auto prog = find_plugin(conf.ipam.type, c.env.path);
  if (!prog) return make_error("failed to find plugin \"{}\" in path [{}]", conf.ipam.type, c.env.path);
  WEFT_TRY(r, exec_plugin(*prog, "DEL", stdin_bytes));
  if (r.status != 0) return make_error("{}", delegate_error(r));
  return {};
}

/// The gateway: the bridge's IPv4 address inside the pod's subnet (or its first); if the bridge
/// has none, an address for weave:expose from IPAM, put on the bridge.
std::variant<Ipv4, CniError> find_gateway(Ctx& c, const NetConf& conf, std::string_view stdin_bytes,
                                          const Cidr& pod) {
  auto nl = host::Rtnl::open();
  if (!nl) return CniError{kIoFailure, nl.error().message, ""};
  auto addrs = nl->addresses(conf.bridge);
  if (!addrs) {
    return CniError{kPluginError, fmt::format("Failed to get netdev for \"{}\" bridge: {}", conf.bridge,
                                              addrs.error().message), ""};
  }
  for (const auto& a : *addrs) {
    if (pod.contains(a.cidr.addr())) return a.cidr.addr();
  }
  if (!addrs->empty()) return addrs->front().cidr.addr();
  auto got = get_ip(c, conf, stdin_bytes, std::string(kExposeId));
  if (auto* e = std::get_if<CniError>(&got)) {
    return CniError{e->code, "unable to allocate IP address for bridge: " + e->msg, e->details};
  }
  auto cidr = std::get<AddResult>(got).ips[0].address;
  // As Weave: the router puts the address on the bridge and adds the NAT rules that let pods
  // reach the world outside the weave network (masqueraded).
  if (auto e = router_for(c.env).expose(cidr); !e) {
    return router_error(fmt::format("unable to expose bridge \"{}\": ", conf.bridge), e.error());
  }
  c.log(fmt::format("exposed bridge {} as {}", conf.bridge, cidr));
  return cidr.addr();
}

std::variant<host::Netns, CniError> open_pod_netns(const std::string& path) {
  auto ns = host::Netns::open(path);
  if (!ns) {
    return CniError{kUnknownContainer, fmt::format("error accessing namespace \"{}\": {}", path, ns.error().message), ""};
  }
  auto self = host::Netns::current();
  if (!self) return CniError{kIoFailure, "error accessing host network namespace: " + self.error().message, ""};
  if (self->inode() == ns->inode()) {
    return CniError{kInvalidEnvironment,
                    "can not specify host network namespace as network namespace to which container "
                    "should be added", ""};
  }
  return std::move(*ns);
}

// ---- commands -----------------------------------------------------------------------------------

Outcome cmd_add(Ctx& c, const NetConf& conf, std::string_view stdin_bytes) {
  if (auto e = require_env(c.env, true)) return fail(c, *e);
  if (conf.is_gateway) return fail(c, {kUnsupportedField, "Gateway functionality not supported", ""});
  if (conf.ip_masq) return fail(c, {kUnsupportedField, "IP Masquerading functionality not supported", ""});
  if (!valid_ifname(c.env.ifname)) {
    return fail(c, {kInvalidEnvironment, fmt::format("invalid CNI_IFNAME \"{}\"", c.env.ifname), ""});
  }
  // Everything that can be checked is checked before anything changes.
  auto nsv = open_pod_netns(c.env.netns);
  if (auto* e = std::get_if<CniError>(&nsv)) return fail(c, *e);
  auto& ns = std::get<host::Netns>(nsv);
  auto nl = host::Rtnl::open();
  if (!nl) return fail(c, {kIoFailure, nl.error().message, ""});
  auto br = nl->find_link(conf.bridge);
  if (!br) return fail(c, {kIoFailure, br.error().message, ""});
  if (!*br || (*br)->kind != host::LinkKind::bridge) {
    return fail(c, {kPluginError, fmt::format("bridge \"{}\" not present; did you launch weave?", conf.bridge), ""});
  }
  auto guest = host::Rtnl::open(&ns);
  if (!guest) return fail(c, {kIoFailure, guest.error().message, ""});
  auto existing = guest->find_link(c.env.ifname);
  bool had_iface = existing && existing->has_value();

  auto got = get_ip(c, conf, stdin_bytes, c.env.container_id);
  if (auto* e = std::get_if<CniError>(&got)) return fail(c, *e);
  AddResult ipam = std::get<AddResult>(std::move(got));
  IpConfig ip = ipam.ips[0];
  auto undo = [&](CniError e) {
    if (!had_iface) {
      if (auto r = release_ip(c, conf, stdin_bytes); !r) c.log("releasing after failure: " + r.error().message);
    }
    return fail(c, e);
  };
  Ipv4 gw;
  if (ip.gateway) {
    gw = *ip.gateway;
  } else if (ipam.routes) {
    gw = Ipv4(0);
  } else {
    auto g = find_gateway(c, conf, stdin_bytes, ip.address);
    if (auto* e = std::get_if<CniError>(&g)) return undo(*e);
    gw = std::get<Ipv4>(g);
    ip.gateway = gw;
  }

  // The interface, its address and routes (kube spec §1.4 steps 6-7): the one attach plan.
  std::optional<std::vector<attach::RouteStep>> ipam_routes;
  if (ipam.routes) {
    ipam_routes.emplace();
    for (const auto& rt : *ipam.routes) ipam_routes->push_back({rt.dst, rt.gw, false});
  }
  std::vector<attach::RouteStep> routes = attach::cni_routes(ip.address, gw, ipam_routes);
  std::string vid = veth_id(c.env.container_id);
  attach::Request rq;
  rq.ident = c.env.container_id;
  rq.addresses = {ip.address};
  rq.veth = attach::VethStep{
      .bridge = conf.bridge, .veth_id = vid, .ifname = c.env.ifname, .mtu = conf.mtu, .hairpin = conf.hairpin};
  rq.multicast_route = false;
  rq.pod_multicast_rules = true;
  rq.routes = routes;
  attach::LinuxAttachHost h({.netns = &ns});
  auto done = attach::execute(attach::plan(std::move(rq)), h);
  for (const auto& w : done.warnings) {
    if (w.step == attach::Step::pod_rules) c.log(fmt::format("pod multicast rules not set: {}", w.message));
  }
  if (done.failure) {
    const auto& f = *done.failure;
    if (f.step == attach::Step::link) return undo({kPluginError, "error setting up interface: " + f.message, ""});
    return undo(
        {kPluginError, fmt::format("error setting up routes: failed to add route '{}': {}", f.label, f.message), ""});
  }
  std::vector<Route> installed;
  for (const auto& rt : routes) {
    if (!rt.link_scope) installed.push_back({rt.dst, rt.via});
  }

  AddResult out;
  std::string host_end = std::string(host::kHostVethPrefix) + vid;
  auto hl = nl->find_link(host_end);
  out.interfaces.push_back({host_end, hl && *hl ? std::optional<Mac>((*hl)->mac) : std::nullopt, ""});
  out.interfaces.push_back({c.env.ifname, done.link->mac, c.env.netns});
  ip.interface = 1;
  out.ips = {ip};
  out.routes = installed;
  out.dns = conf.dns;
  return Outcome{0, encode_result(out, c.version), c.stderr_text};
}

Outcome cmd_del(Ctx& c, const NetConf& conf, std::string_view stdin_bytes) {
  if (auto e = require_env(c.env, false)) return fail(c, *e);
  if (!c.env.netns.empty()) {
    auto ns = host::Netns::open(c.env.netns);
    if (!ns) {
      c.log(fmt::format("error removing interface \"{}\": {}", c.env.ifname, ns.error().message));
    } else {
      auto guest = host::Rtnl::open(&*ns);
      auto link = guest ? guest->find_link(c.env.ifname) : Result<std::optional<host::LinkInfo>>(guest.error());
      if (!link) {
        c.log(fmt::format("error removing interface \"{}\": {}", c.env.ifname, link.error().message));
      } else if (*link) {
        if (auto d = guest->delete_link(c.env.ifname); !d) {
          c.log(fmt::format("error removing interface \"{}\": {}", c.env.ifname, d.error().message));
        }
      }
    }
  }
  auto r = release_ip(c, conf, stdin_bytes);
  if (!r) {
    const auto& m = r.error().message;
    if (m.find("Delete: no addresses for") != std::string::npos) {
      c.log(fmt::format("Delete: no addresses for {}", c.env.container_id));
    } else if (conf.ipam.type.empty() && router_error("", r.error()).code == kTryAgainLater) {
      // The router is gone: there is nothing left to release on this node.
      c.log("router not reachable; nothing to release: " + m);
    } else {
      c.log("unable to release IP address: " + m);
      return fail(c, {kPluginError, m, ""});
    }
  }
  return Outcome{0, "", c.stderr_text};
}

Outcome cmd_check(Ctx& c, const NetConf& conf, std::string_view stdin_bytes) {
  if (auto e = require_env(c.env, true)) return fail(c, *e);
  if (compare_versions(c.version, "0.4.0") < 0) {
    return fail(c, {kIncompatibleVersion, "incompatible CNI versions",
                    fmt::format("config is \"{}\", CHECK needs 0.4.0 or later", c.version)});
  }
  if (conf.prev_result.is_null()) return fail(c, {kInvalidConfig, "required prevResult missing", ""});
  auto prev = decode_result(conf.prev_result);
  if (auto* e = std::get_if<CniError>(&prev)) return fail(c, *e);
  const auto& pr = std::get<AddResult>(prev);
  if (pr.ips.empty()) return fail(c, {kInvalidConfig, "prevResult has no IP address", ""});
  const Cidr want = pr.ips[0].address;
  if (conf.ipam.type.empty()) {
    auto owned = router_for(c.env).lookup(c.env.container_id);
    if (!owned) return fail(c, router_error("unable to check IP address: ", owned.error()));
    bool found = false;
    for (const auto& o : *owned) found = found || o.addr() == want.addr();
    if (!found) {
      return fail(c, {kPluginError, fmt::format("IPAM has no address {} for {}", want, c.env.container_id), ""});
    }
  } else if (auto prog = find_plugin(conf.ipam.type, c.env.path)) {
    auto r = exec_plugin(*prog, "CHECK", stdin_bytes);
    if (!r) return fail(c, {kIoFailure, r.error().message, ""});
    if (r->status != 0) return fail(c, {kPluginError, delegate_error(*r), ""});
  }
  auto nsv = open_pod_netns(c.env.netns);
  if (auto* e = std::get_if<CniError>(&nsv)) return fail(c, *e);
  auto guest = host::Rtnl::open(&std::get<host::Netns>(nsv));
  if (!guest) return fail(c, {kIoFailure, guest.error().message, ""});
  auto link = guest->find_link(c.env.ifname);
  if (!link || !*link) return fail(c, {kPluginError, fmt::format("interface {} not found in {}", c.env.ifname, c.env.netns), ""});
  if (!(*link)->up) return fail(c, {kPluginError, fmt::format("interface {} is down", c.env.ifname), ""});
  auto addrs = guest->addresses(c.env.ifname);
  bool has = false;
  if (addrs) {
    for (const auto& a : *addrs) has = has || a.cidr == want;
  }
  if (!has) return fail(c, {kPluginError, fmt::format("interface {} does not have address {}", c.env.ifname, want), ""});
  if (pr.routes) {
    auto routes = guest->routes();
    if (!routes) return fail(c, {kIoFailure, routes.error().message, ""});
    for (const auto& want_rt : *pr.routes) {
      bool ok = false;
      for (const auto& r : *routes) {
        ok = ok || (r.dst.network() == want_rt.dst.network() && r.oif == (*link)->ifindex &&
                    (!want_rt.gw || r.gateway == want_rt.gw));
      }
      if (!ok) return fail(c, {kPluginError, fmt::format("route to {} is missing", want_rt.dst.network()), ""});
    }
  }
  // The host end must still be a port of the bridge.
  auto nl = host::Rtnl::open();
  if (!nl) return fail(c, {kIoFailure, nl.error().message, ""});
  std::string host_end = std::string(host::kHostVethPrefix) + c.env.container_id.substr(0, host::kVethIdMax);
  auto hl = nl->find_link(host_end);
  auto br = nl->find_link(conf.bridge);
  if (!hl || !*hl || !br || !*br || (*hl)->master != (*br)->ifindex) {
    return fail(c, {kPluginError, fmt::format("{} is not a port of bridge {}", host_end, conf.bridge), ""});
  }
  return Outcome{0, "", c.stderr_text};
}

// weave-ipam: addresses only (kube spec §2).
Outcome cmd_ipam(Ctx& c, const NetConf& conf) {
  bool add = c.env.command == "ADD";
  if (auto e = require_env(c.env, false)) return fail(c, *e);
  auto router = router_for(c.env);
  if (add) {
    std::optional<Cidr> subnet;
    if (conf.ipam.subnet) subnet = Cidr::parse(*conf.ipam.subnet);
    auto a = router.allocate(c.env.container_id, subnet);
    if (!a) return fail(c, router_error("", a.error()));
    AddResult r;
    r.ips.push_back({*a, conf.ipam.gateway, std::nullopt});
    r.routes = conf.ipam.routes;
    return Outcome{0, encode_result(r, c.version), c.stderr_text};
  }
  if (c.env.command == "DEL") {
    auto r = router.release_ident(c.env.container_id);
    if (!r) {
      // NB: Weave's weave-ipam failed here; CNI asks DEL to succeed when the thing is gone.
      if (r.error().message.find("Delete: no addresses for") != std::string::npos) {
        c.log(fmt::format("Delete: no addresses for {}", c.env.container_id));
      } else if (router_error("", r.error()).code == kTryAgainLater) {
        c.log("router not reachable; nothing to release: " + r.error().message);
      } else {
        return fail(c, {kPluginError, r.error().message, ""});
      }
    }
    return Outcome{0, "", c.stderr_text};
  }
  // CHECK
  if (compare_versions(c.version, "0.4.0") < 0) {
    return fail(c, {kIncompatibleVersion, "incompatible CNI versions",
                    fmt::format("config is \"{}\", CHECK needs 0.4.0 or later", c.version)});
  }
  auto owned = router.lookup(c.env.container_id);
  if (!owned) return fail(c, router_error("", owned.error()));
  if (owned->empty()) return fail(c, {kPluginError, fmt::format("IPAM has no address for {}", c.env.container_id), ""});
  return Outcome{0, "", c.stderr_text};
}

}  // namespace

std::optional<Role> role_for_program(std::string_view argv0) {
  if (argv0.ends_with("weave-ipam")) return Role::ipam;
  if (argv0.ends_with("weave-net")) return Role::net;
  return std::nullopt;
}

Env Env::from_process() {
  auto get = [](const char* n) {
    const char* v = std::getenv(n);
    return v ? std::string(v) : std::string();
  };
  Env e;
  e.command = get("CNI_COMMAND");
  e.container_id = get("CNI_CONTAINERID");
  e.netns = get("CNI_NETNS");
  e.ifname = get("CNI_IFNAME");
  e.args = get("CNI_ARGS");
  e.path = get("CNI_PATH");
  e.weave_http_addr = get("WEAVE_HTTP_ADDR");
  return e;
}

std::string router_address(std::string_view a) {
  if (a.empty()) return "127.0.0.1:6784";
  auto colons = std::count(a.begin(), a.end(), ':');
  if (colons >= 2) return std::string(a);
  if (colons == 0) return std::string(a) + ":6784";
  if (a.front() == ':') return "127.0.0.1" + std::string(a);
  return std::string(a);
}

Outcome run_plugin(Role role, const Env& env, std::string_view stdin_bytes) {
  Ctx c{role, env, "0.1.0", ""};
  if (env.command.empty()) {
    c.log("CNI_COMMAND env variable missing");
    return fail(c, {kInvalidEnvironment, "required env variables missing", "CNI_COMMAND"});
  }
  auto ver = decode_version(stdin_bytes);
  if (env.command == "VERSION") {
    auto* v = std::get_if<std::string>(&ver);
    return Outcome{0, encode_version(v ? *v : "1.0.0"), ""};
  }
  if (auto* e = std::get_if<CniError>(&ver)) {
    c.version = "1.0.0";
    // DEL must not fail on a config it cannot read (the pod is going away anyway).
    if (env.command == "DEL") {
      c.log(e->msg);
    }
    return fail(c, *e);
  }
  c.version = std::get<std::string>(ver);
  if (auto e = check_version(c.version)) return fail(c, *e);
  if (env.command != "ADD" && env.command != "DEL" && env.command != "CHECK") {
    return fail(c, {kInvalidEnvironment, fmt::format("unknown CNI_COMMAND: {}", env.command), ""});
  }
  auto parsed = parse_netconf(stdin_bytes);
  if (auto* e = std::get_if<CniError>(&parsed)) {
    if (env.command == "DEL" && role == Role::net) {
      // As Weave: logged, and DEL succeeds.
      c.log(e->msg);
      return Outcome{0, "", c.stderr_text};
    }
    return fail(c, *e);
  }
  const auto& conf = std::get<NetConf>(parsed);
  if (role == Role::ipam) return cmd_ipam(c, conf);
  if (env.command == "ADD") return cmd_add(c, conf, stdin_bytes);
  if (env.command == "DEL") return cmd_del(c, conf, stdin_bytes);
  return cmd_check(c, conf, stdin_bytes);
}

int cni_main(Role role) {
  std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto o = run_plugin(role, Env::from_process(), in);
  std::fwrite(o.out.data(), 1, o.out.size(), stdout);
  std::fflush(stdout);
  std::fwrite(o.err.data(), 1, o.err.size(), stderr);
  return o.exit_code;
}

}  // namespace weft::cni
