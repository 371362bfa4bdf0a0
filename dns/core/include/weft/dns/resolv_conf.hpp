#pragma once
// The upstream servers of weaveDNS: the `nameserver` lines of --resolv-conf (as Go's
// dns.ClientConfigFromFile reads them), minus our own address so we never forward to ourselves.
#include <string>
#include <string_view>
#include <vector>

namespace weft::dns {

/// The second field of every `nameserver` line, in file order. Comments start with '#' or ';'.
/// Entries are not validated here: the shell skips those that are not IP addresses.
std::vector<std::string> parse_resolv_conf(std::string_view text);

/// Removes every server equal to `own_address` (an IP; "" removes nothing). When we listen on the
/// unspecified address (`listening_on_any`, e.g. 0.0.0.0:53), loopback servers are removed too
/// if `same_port` (they are us). Order is kept.
std::vector<std::string> filter_upstreams(std::vector<std::string> servers, std::string_view own_address,
                                          bool listening_on_any = false, bool same_port = false);

}  // namespace weft::dns
