#pragma once
// /proc/sys helpers for per-interface network settings. They act in the calling thread's network
// namespace: /proc/sys/net shows the namespace of the thread that opens the file, so wrap calls in
// in_netns() to configure an interface in another namespace.
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/base/result.hpp"

namespace weft::datapath::host {

/// Writes VALUE to /proc/sys/KEY, KEY written with '/' ("net/ipv4/ip_forward").
Result<void> write_sysctl(std::string_view key, std::string_view value);
/// Reads /proc/sys/KEY without the trailing newline.
Result<std::string> read_sysctl(std::string_view key);

/// net/ipv6/conf/IF/accept_ra. Weave sets 0 on the bridge and on veths so a router
/// advertisement on the weave network cannot give them extra addresses or routes. Fails with
/// "... No such file or directory" when IPv6 is disabled; callers treat that as best effort.
Result<void> set_accept_ra(std::string_view ifname, int value);

/// ARP cache tuning of a weave interface (net/ipv4/neigh/IF/...): with Weave's values (5 s, 2 s,
/// 1 probe) a container notices quickly that a MAC moved to another peer.
struct NeighParams {
  std::uint32_t base_reachable_time_s = 5;
  std::uint32_t delay_first_probe_time_s = 2;
  std::uint32_t ucast_solicit = 1;
};
/// Writes all three; the first failure is returned, the remaining ones are still tried.
Result<void> set_neigh_params(std::string_view ifname, const NeighParams& p = {});

}  // namespace weft::datapath::host
