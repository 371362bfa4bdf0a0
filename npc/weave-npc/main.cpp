// weave-npc: weft's NetworkPolicy controller, a drop-in for Weave Net 2.8's (kube spec §4). Flags as
// Weave's (cobra style, --flag=value or --flag value); the wiring only: the logic lives in
// controller.cpp and npc/core.
#include <csignal>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "controller.hpp"
#include "metrics_server.hpp"
#include "weft/npc/process_netfilter.hpp"

namespace {

using namespace weft;  // NOLINT

int usage(const std::string& msg) {
  fmt::print(stderr,
             "weave-npc: {}\nusage: weave-npc [--node-name=NAME] [--log-level=debug|info|warning|error] "
             "[--allow-mcast=true|false] [--max-list-size=N] [--bridge-port-name=NAME] [--metrics-addr=HOST:PORT]\n",
             msg);
  return 2;
}

std::optional<bool> parse_bool(const std::string& s) {
  if (s == "true" || s == "1" || s == "t" || s == "TRUE" || s == "True") return true;
  if (s == "false" || s == "0" || s == "f" || s == "FALSE" || s == "False") return false;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so that every thread inherits the mask and only sigwait sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::map<std::string, std::string> flags{{"metrics-addr", ":6781"},
                                           {"log-level", "debug"},
                                           {"allow-mcast", "true"},
                                           {"max-list-size", "1024"},
                                           {"bridge-port-name", "vethwe-bridge"},
                                           {"node-name", ""}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 && a.rfind("-", 0) == 0) a = "-" + a;  // Go accepts -flag too
    if (a.rfind("--", 0) != 0) return usage("unexpected argument " + a);
    a = a.substr(2);
    std::string value;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (a == "allow-mcast") {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return usage("flag needs an argument: --" + a);
    }
    if (flags.count(a) == 0) return usage("unknown flag: --" + a);
    flags[a] = value;
  }
  auto level = parse_log_level(flags["log-level"] == "warning" ? "warn" : flags["log-level"]);
  if (!level) return usage("bad --log-level " + flags["log-level"]);
  Logger log("weave-npc", std::make_shared<StderrSink>(), *level);
  npc::ControllerOptions opt;
  auto mcast = parse_bool(flags["allow-mcast"]);
  if (!mcast) return usage("bad --allow-mcast " + flags["allow-mcast"]);
  opt.plan.allow_mcast = *mcast;
  opt.plan.bridge_port_name = flags["bridge-port-name"];
  char* end = nullptr;
  const auto& mls = flags["max-list-size"];
  const unsigned long max_list = std::strtoul(mls.c_str(), &end, 10);
  if (mls.empty() || *end != '\0' || max_list == 0 || max_list > 65536) return usage("bad --max-list-size " + mls);
  opt.plan.max_list_size = max_list;
  opt.node_name = flags["node-name"];
  if (opt.node_name.empty() && std::getenv("HOSTNAME") != nullptr) opt.node_name = std::getenv("HOSTNAME");
  if (opt.node_name.empty()) {
    log.error("Must set node name via --node-name or $HOSTNAME");
    return 1;
  }

  auto config = kube::in_cluster_config();
  if (!config) {
    log.error("{}", config.error().message);
    return 1;
  }
  config->user_agent = "weave-npc";

  // IPTABLES_BACKEND as Weave's launch.sh: nft or legacy; unset: whatever `iptables-restore` is.
  const char* backend = std::getenv("IPTABLES_BACKEND");
  npc::ProcessNetfilter nf(backend != nullptr ? backend : "");
  npc::NpcMetrics metrics;
  npc::MetricsServer metrics_server;
  if (!flags["metrics-addr"].empty()) {
    if (auto r = metrics_server.start(flags["metrics-addr"], [&] { return metrics.render(); }); !r) {
      log.error("{}", r.error().message);
      return 1;
    }
  }
  auto nflog = npc::NflogSocket::open(npc::kNflogGroup);
  if (!nflog) log.warn("cannot listen on NFLOG group {}: {}; blocked connections will not be logged",
                       npc::kNflogGroup, nflog.error().message);

  npc::Controller controller(*config, nf, opt, log, metrics);
  std::thread signals([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig != 0) log.info("Exiting: {}", sig == SIGINT ? "interrupt" : "terminated");
    controller.stop();
  });
  signals.detach();
  int rc = controller.run(nflog ? std::move(*nflog) : nullptr);
  metrics_server.stop();
  return rc;
}
