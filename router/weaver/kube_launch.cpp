// weave-kube in weft (kube spec §3): what Weave's init.sh, launch.sh and `weave setup-cni` did,
// without a shell in the image:
//   weaver kube-init     the DaemonSet's init container: bridge-nf-call-iptables, setup-cni
//   weaver kube-launch   the `weave` container: Weave's environment variables → weaver's flags,
//                        peers from the API, the stale-DB check, then weaver in the foreground
//                        while a child does the post-start actions (reclaim, expose, node
//                        status) and then runs the reclaim daemon
//   weaver setup-cni     `weave setup-cni` (the script calls this)
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "weaver.hpp"
#include "weft/base/ipv4.hpp"
#include "weft/datapath/linux/rtnl.hpp"
#include "weft/http/client.hpp"
#include "weft/ipam/weave_import.hpp"

namespace weft::weaver {

int run_kube_utils(int argc, char** argv);

namespace {

namespace fs = std::filesystem;

std::string env(const char* name, std::string dflt = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : dflt;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// Runs ARGV (argv[0] a path) and returns its exit status and stdout.
std::pair<int, std::string> run_capture(const std::vector<std::string>& argv) {
  int p[2];
  if (pipe(p) != 0) return {-1, ""};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(p[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128, out};
}

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "/usr/bin/weaver" : p.string();
}

int kube_utils(const std::vector<std::string>& args, std::string* out = nullptr) {
  std::vector<std::string> argv{self_exe(), "kube-utils"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [rc, o] = run_capture(argv);
  if (out != nullptr) *out = o;
  else std::fputs(o.c_str(), stdout);
  return rc;
}

/// Weave's `weaveutil netcheck RANGE weave`: the range must not overlap a route on another
/// interface (the default route excepted).
Result<void> netcheck(const std::string& range, const std::string& bridge) {
  auto c = Cidr::parse(range);
  if (!c) return make_error("invalid IPALLOC_RANGE {}", range);
  WEFT_TRY(nl, datapath::host::Rtnl::open());
  WEFT_TRY(routes, nl.routes());
  WEFT_TRY(links, nl.links());
  for (const auto& r : routes) {
    if (r.dst.prefix() == 0) continue;
    std::string dev;
    for (const auto& l : links) {
      if (l.ifindex == r.oif) dev = l.name;
    }
    if (dev == bridge) continue;
    if (Ipv4Range::of(c->network()).overlaps(Ipv4Range::of(r.dst.network()))) {
      return make_error("Network {} overlaps with existing route {} on host", c->network(), r.dst.network());
    }
  }
  return {};
}

}  // namespace

/// `weave setup-cni` (kube spec §3.3): weaver is weft's weaveutil, so the plugin file is a copy
/// of this binary and weave-net / weave-ipam are relative symlinks to it.
int run_setup_cni() {
  std::string root = env("HOST_ROOT");
  fs::path dir = env("WEAVE_CNI_PLUGIN_DIR", root + "/opt/cni/bin");
  fs::path conf_dir = env("WEAVE_CNI_CONF_DIR", root + "/etc/cni/net.d");
  std::string plugin = "weave-plugin-" + env("WEAVE_VERSION", std::string(kVersion));
  std::string hairpin = env("HAIRPIN_MODE", "true");
  if (hairpin != "true" && hairpin != "false") {
    std::fprintf(stderr, "setup-cni: HAIRPIN_MODE must be true or false, not '%s'\n", hairpin.c_str());
    return 1;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "setup-cni: mkdir %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  // In the image, /usr/lib/weft-cni holds weaver with its libraries and loader (build-image): the
  // plugin is then a small sh launcher for that bundle, so it runs on any host. Elsewhere it is
  // a copy of this binary, which needs the host's libraries.
  fs::path bundle = env("WEFT_CNI_BUNDLE", "/usr/lib/weft-cni");
  bool bundled = fs::exists(bundle / "weaver") && fs::exists(bundle / "ld.so");
  if (!fs::exists(dir / plugin)) {
    fs::path tmp = dir / (plugin + ".tmp");
    if (bundled) {
      fs::path to = dir / ("weft-" + env("WEAVE_VERSION", std::string(kVersion)));
      fs::remove_all(to, ec);
      fs::copy(bundle, to, fs::copy_options::recursive, ec);
      if (!ec) {
        std::ofstream f(tmp);
        f << "#!/bin/sh\n# weft's CNI plugin (weave setup-cni): weaver with its own libraries\n"
          << "d=$(dirname \"$0\")/" << to.filename().string() << "\n"
          << "exec \"$d/ld.so\" --library-path \"$d/lib\" --argv0 \"$0\" \"$d/weaver\" \"$@\"\n";
      }
    } else {
      fs::copy_file(self_exe(), tmp, fs::copy_options::overwrite_existing, ec);
    }
    if (!ec) fs::permissions(tmp, fs::perms(0755), ec);
    if (!ec) fs::rename(tmp, dir / plugin, ec);
    if (ec) {
      std::fprintf(stderr, "setup-cni: installing %s: %s\n", (dir / plugin).c_str(), ec.message().c_str());
      return 1;
    }
  }
  for (const char* name : {"weave-net", "weave-ipam"}) {
    fs::path link = dir / name;
    // Legacy copies (regular files, not links) are replaced.
    if (fs::is_regular_file(fs::symlink_status(link))) fs::remove(link, ec);
    auto target = fs::weakly_canonical(link, ec);
    if (!ec && target == fs::weakly_canonical(dir / plugin, ec)) continue;
    fs::path tmp = dir / (std::string(name) + ".tmp");
    fs::remove(tmp, ec);
    fs::create_symlink(plugin, tmp, ec);
    if (!ec) fs::rename(tmp, link, ec);
    if (ec) {
      std::fprintf(stderr, "setup-cni: linking %s: %s\n", link.c_str(), ec.message().c_str());
      return 1;
    }
  }
  fs::remove(conf_dir / "10-weave.conf", ec);
  // An existing conflist is never rewritten (as Weave): HAIRPIN_MODE then has no effect.
  if (fs::is_directory(conf_dir) && !fs::exists(conf_dir / "10-weave.conflist")) {
    {
      std::ofstream f(conf_dir / "10-weave.conflist.tmp");
      f << fmt::format(R"({{
    "cniVersion": "0.3.0",
    "name": "weave",
    "plugins": [
        {{
            "name": "weave",
            "type": "weave-net",
            "hairpinMode": {}
        }},
        {{
            "type": "portmap",
            "capabilities": {{"portMappings": true}},
            "snat": true
        }}
    ]
}}
)",
                       hairpin);
    }
    fs::rename(conf_dir / "10-weave.conflist.tmp", conf_dir / "10-weave.conflist", ec);
    if (ec) {
      std::fprintf(stderr, "setup-cni: writing the conflist: %s\n", ec.message().c_str());
      return 1;
    }
  }
  return 0;
}

/// init.sh (kube spec §3.2) minus the module loading and the xt_set probe, which need the host's
/// modprobe: bridge-nf-call-iptables = 1, then setup-cni.
int run_kube_init() {
  const char* nf = "/proc/sys/net/bridge/bridge-nf-call-iptables";
  std::ifstream in(nf);
  std::string v;
  if (!(in >> v)) {
    std::fprintf(stderr,
                 "Cannot detect bridge-nf support - network policy and iptables mode kubeproxy may not "
                 "work reliably\n");
  } else if (v != "1") {
    std::ofstream(nf) << "1\n";
  }
  std::string root = env("HOST_ROOT", "/host");
  setenv("HOST_ROOT", root.c_str(), 1);
  std::error_code ec;
  if (env("WEAVE_CNI_PLUGIN_DIR").empty()) {
    fs::create_directories(root + "/opt/cni/bin", ec);
    if (ec) {
      // GCI/COS: /opt is read-only there.
      ec.clear();
      fs::create_directories(root + "/home/kubernetes/bin", ec);
      if (ec) {
        std::fprintf(stderr, "Failed to install the Weave CNI plugin\n");
        return 1;
      }
      setenv("WEAVE_CNI_PLUGIN_DIR", (root + "/home/kubernetes/bin").c_str(), 1);
    }
  }
  fs::create_directories(env("WEAVE_CNI_CONF_DIR", root + "/etc/cni/net.d"), ec);
  return run_setup_cni();
}

/// launch.sh (kube spec §3.4, §3.5).
int run_kube_launch(int argc, char** argv) {
  if (env("INIT_CONTAINER") != "true") {
    if (int rc = run_kube_init(); rc != 0) return rc;
  }
  const std::string range = env("IPALLOC_RANGE", "10.32.0.0/12");
  const std::string http_addr = env("WEAVE_HTTP_ADDR", "127.0.0.1:6784");
  const std::string metrics_addr = env("WEAVE_METRICS_ADDR", "0.0.0.0:6782");
  const std::string host_root = env("HOST_ROOT", "/host");
  const std::string conn_limit = env("CONN_LIMIT", "200");
  const std::string db_prefix = env("DB_PREFIX", "/weavedb/weave-net");
  const std::string node = env("HOSTNAME");
  const std::string bridge = "weave";

  if (auto r = netcheck(range, bridge); !r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  std::vector<std::string> extra = words(env("EXTRA_ARGS"));
  std::vector<std::string> opts{"--port=6783", "--http-addr=" + http_addr, "--metrics-addr=" + metrics_addr};
  if (!env("WEAVE_STATUS_ADDR").empty()) opts.push_back("--status-addr=" + env("WEAVE_STATUS_ADDR"));
  if (env("EXPECT_NPC") != "0") opts.push_back("--expect-npc");
  if (env("NO_MASQ_LOCAL") != "0") opts.push_back("--no-masq-local");
  if (!node.empty()) opts.push_back("--nickname=" + node);
  if (!env("WEAVE_MTU").empty()) opts.push_back("--mtu=" + env("WEAVE_MTU"));
  if (!env("WEAVE_NO_FASTDP").empty()) opts.push_back("--no-fastdp");

  std::string peers = env("KUBE_PEERS");
  if (peers.empty()) {
    if (kube_utils({}, &peers) != 0) {
      std::fprintf(stderr, "Failed to get peers\n");
      return 1;
    }
  }
  auto peer_list = words(peers);
  // N nodes give consensus=N-1 (the list excludes this node). Weave passed consensus=0 for a
  // single node, which its weaver treated as "guess"; weft's spelling of that is plain consensus.
  std::string ipalloc_init = env("IPALLOC_INIT", peer_list.empty() ? std::string("consensus")
                                                                   : fmt::format("consensus={}", peer_list.size()));

  std::vector<std::string> pn{self_exe()};
  pn.insert(pn.end(), extra.begin(), extra.end());
  pn.insert(pn.end(), {"--print-peer-name", "--host-root=" + host_root, "--db-prefix=" + db_prefix});
  auto [pn_rc, pn_out] = run_capture(pn);
  auto peer_name_words = words(pn_out);
  if (pn_rc != 0 || peer_name_words.empty()) {
    std::fprintf(stderr, "Unable to get peer name\n");
    return 2;
  }
  const std::string peer_name = peer_name_words.front();

  // Stale DB (kube spec §3.4 step 9): another node ran rmpeer on us while we were away. weft keeps
  // Weave's peer-reclaim flag as a file next to the state file. A Weave state file (a node moving
  // from Weave) is imported by weaver itself.
  const std::string db = db_prefix + "data.db", flag = db_prefix + "peer-reclaim.flag";
  if (fs::exists(db) && fs::exists(flag)) {
    int rc = kube_utils({"-check-peer-new", "-peer-name=" + peer_name, "-log-level=debug"});
    if (rc == 0) {
      std::printf("Peer not in list; removing persisted data\n");
      std::error_code ec;
      fs::remove(db, ec);
      // weaver keeps its own state beside a Weave state file it imported (weave_import.hpp).
      fs::remove(ipam::weft_state_path_beside(db), ec);
    }
  }
  std::ofstream(flag) << "ok\n";

  // Post-start actions in a child that dies with us (kube spec §3.5).
  pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(0);
    auto ep = http::Endpoint::parse(http_addr);
    for (int i = 0; ep; ++i) {
      http::ClientRequest req;
      req.target = "/status";
      http::ClientOptions o;
      o.timeout = std::chrono::seconds(2);
      if (http::request(*ep, req, o)) break;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    kube_utils({"-reclaim", "-node-name=" + node, "-peer-name=" + peer_name, "-log-level=debug"});
    // weave --local expose: an address for weave:expose on the bridge.
    if (ep) {
      http::ClientRequest req;
      std::string ip = env("WEAVE_EXPOSE_IP");
      req.method = ip.empty() ? "POST" : "PUT";
      req.target = ip.empty() ? "/ip/weave:expose" : "/ip/weave:expose/" + ip;
      auto r = http::request(*ep, req);
      auto c = r && (r->status == 200 || r->status == 204) ? Cidr::parse(words(r->body).empty() ? "" : words(r->body)[0])
                                                           : std::nullopt;
      if (!ip.empty()) c = Cidr::parse(ip);
      if (c) {
        // POST /expose: the address on the bridge and the NAT rules (masquerade for pod egress).
        http::ClientRequest ex;
        ex.method = "POST";
        ex.target = fmt::format("/expose/{}/{}", c->addr(), c->prefix());
        auto er = http::request(*ep, ex);
        if (!er || (er->status != 200 && er->status != 204)) {
          std::fprintf(stderr, "expose %s: %s\n", fmt::format("{}", *c).c_str(),
                       er ? er->body.c_str() : er.error().message.c_str());
        } else {
          std::printf("%s\n", fmt::format("{}", *c).c_str());
        }
      } else {
        std::fprintf(stderr, "expose: no address for weave:expose\n");
      }
    }
    if (!node.empty()) kube_utils({"-set-node-status", "-node-name=" + node});
    std::fflush(stdout);
    std::vector<std::string> daemon{"kube-utils", "-run-reclaim-daemon", "-node-name=" + node,
                                    "-peer-name=" + peer_name, "-log-level=debug"};
    std::vector<char*> a;
    for (auto& s : daemon) a.push_back(s.data());
    a.push_back(nullptr);
    _exit(run_kube_utils(static_cast<int>(a.size()) - 1, a.data()));
  }

  std::vector<std::string> args{self_exe()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), opts.begin(), opts.end());
  args.insert(args.end(), {"--name=" + peer_name, "--docker-api=", "--no-dns", "--db-prefix=" + db_prefix,
                           "--host-root=" + host_root, "--ipalloc-range=" + range, "--ipalloc-init=" + ipalloc_init,
                           "--conn-limit=" + conn_limit});
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  args.insert(args.end(), peer_list.begin(), peer_list.end());
  std::vector<char*> a;
  for (auto& s : args) a.push_back(s.data());
  a.push_back(nullptr);
  std::fflush(stdout);
  execv(a[0], a.data());
  std::fprintf(stderr, "exec %s: %s\n", a[0], std::strerror(errno));
  return 1;
}

}  // namespace weft::weaver
