#pragma once
// The CNI plugins `weave-net` and `weave-ipam` (kube spec §1, §2): one entry point, dispatched on
// the program name as Weave's weaveutil symlinks were, so Weave's 10-weave.conflist works
// unchanged. Commands ADD, DEL, CHECK (config 0.4.0+) and VERSION; config versions 0.1.0-1.0.0.
//
//   ADD    checks the environment first (netns, not the host's, bridge present, names) so that
//          bad input changes nothing; then an address from the router's IPAM keyed by
//          CNI_CONTAINERID (or a delegated IPAM plugin), the veth vethwepl<id7> on the bridge
//          (datapath/linux container_attach), the pod's multicast INPUT rules, routes, result.
//   DEL    idempotent: a missing netns, interface, address or router is success (logged).
//   CHECK  the interface, its address, the routes, the bridge port and the router's record.
//
// Output follows the CNI spec: the result or {"cniVersion","code","msg","details"} on stdout,
// exit 0 or 1; diagnostics on stderr prefixed `weave-cni: `.
#include <optional>
#include <string>
#include <string_view>

namespace weft::cni {

enum class Role { net, ipam };

/// `weave-net` / `weave-ipam` from argv[0]'s basename (a suffix match, as Weave's); nullopt
/// otherwise.
std::optional<Role> role_for_program(std::string_view argv0);

struct Env {
  std::string command, container_id, netns, ifname, args, path;
  std::string weave_http_addr;  ///< $WEAVE_HTTP_ADDR
  static Env from_process();
};

struct Outcome {
  int exit_code = 0;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Runs one plugin invocation. Never throws.
Outcome run_plugin(Role role, const Env& env, std::string_view stdin_bytes);

/// The router's HTTP address from $WEAVE_HTTP_ADDR as weaveutil parses it: "" → 127.0.0.1:6784,
/// "host" → host:6784, ":port" → 127.0.0.1:port, "host:port" as is.
std::string router_address(std::string_view weave_http_addr);

/// `weaver` dispatches here when started as weave-net/weave-ipam (or `weaver cni-net|cni-ipam`).
int cni_main(Role role);

}  // namespace weft::cni
