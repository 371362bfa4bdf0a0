#pragma once
// Domain-name helpers on presentation-format strings ("web.weave.local."). DNS compares names
// case-insensitively in ASCII only (RFC 4343); that is also all a query can carry, since ldns
// presents every byte outside printable ASCII as a \DDD escape.
#include <cstddef>
#include <string>
#include <string_view>

namespace weft::dns {

inline constexpr std::string_view kDefaultDomain = "weave.local.";
inline constexpr std::string_view kReverseDomain = "in-addr.arpa.";

/// ASCII lower-casing.
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
/// Appends the root dot unless `s` already ends with one that is not escaped ("" -> "."), as Go's
/// dns.Fqdn.
std::string fqdn(std::string_view s);
/// True if absolute `name` is `zone` or lies below it, label-wise and case-insensitively (Go's
/// dns.IsSubDomain(zone, name)). "." is the parent of everything.
bool is_subdomain(std::string_view name, std::string_view zone);
/// The hostname with `.<domain>` removed when it ends with it (case-sensitive, as Weave's status
/// template trims).
std::string_view trim_domain(std::string_view hostname, std::string_view domain);
std::size_t count_dots(std::string_view s);

}  // namespace weft::dns
