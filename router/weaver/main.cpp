// weaver: the weft router daemon. Flags, wiring, io_context, signals; nothing else.
#include <boost/asio.hpp>
#include <cstdio>

#include "flags.hpp"
#include "weaver.hpp"
#include "weaver_config.hpp"
#include "weft/cni/plugin.hpp"

namespace weft::weaver {
/// `weaver util ...`: host plumbing for scripts/weave (util_main.cpp). argv[0] is "util".
int run_util(int argc, char** argv);
/// `weaver kube-utils ...`: Weave's kube-utils for the weave-kube launch (kube_utils_main.cpp).
int run_kube_utils(int argc, char** argv);
/// weave-kube's init container, launch and `weave setup-cni` (kube_launch.cpp).
int run_kube_init();
int run_kube_launch(int argc, char** argv);
int run_setup_cni();
}  // namespace weft::weaver

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "util") return weft::weaver::run_util(argc - 1, argv + 1);
  if (argc > 1 && std::string(argv[1]) == "kube-utils") return weft::weaver::run_kube_utils(argc - 1, argv + 1);
  if (argc > 1 && std::string(argv[1]) == "kube-launch") return weft::weaver::run_kube_launch(argc - 1, argv + 1);
  if (argc == 2 && std::string(argv[1]) == "kube-init") return weft::weaver::run_kube_init();
  if (argc == 2 && std::string(argv[1]) == "setup-cni") return weft::weaver::run_setup_cni();
  // The CNI plugins: installed as weave-net / weave-ipam (symlinks to this binary), like weaveutil.
  if (auto role = weft::cni::role_for_program(argv[0]); role && argc == 1) return weft::cni::cni_main(*role);
  if (argc == 2 && std::string(argv[1]) == "cni-net") return weft::cni::cni_main(weft::cni::Role::net);
  if (argc == 2 && std::string(argv[1]) == "cni-ipam") return weft::cni::cni_main(weft::cni::Role::ipam);
  using namespace weft;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (auto& a : args) {
    if (a == "--help" || a == "-help" || a == "-h") {
      std::fputs(weaver::usage().c_str(), stdout);
      return 0;
    }
  }
  auto opts = weaver::parse_flags(args);
  if (!opts) {
    std::fprintf(stderr, "weaver: %s\n(run 'weaver --help' for the list of flags)\n", opts.error().message.c_str());
    return 2;
  }
  if (opts->flag("version")) {
    std::printf("weave %s\n", std::string(weaver::kVersion).c_str());
    return 0;
  }
  // Every flag is checked before anything is created: a refused flag leaves no trace.
  auto cfg = weaver::parse_config(*opts);
  if (!cfg) {
    std::fprintf(stderr, "weaver: %s\n", cfg.error().message.c_str());
    return 1;
  }
  auto sink = std::make_shared<StderrSink>();
  Logger log("weaver", sink);
  boost::asio::io_context io;
  weaver::Weaver w(io, std::move(*cfg), log);
  if (auto r = w.start(); !r) {
    std::fprintf(stderr, "weaver: %s\n", r.error().message.c_str());
    return 1;
  }
  log.info("Command line options: {}", fmt::join(args, " "));
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log.info("=== received signal {}; shutting down ===", sig);
    w.stop();
    io.stop();
  });
  ::signal(SIGPIPE, SIG_IGN);
  io.run();
  return 0;
}
