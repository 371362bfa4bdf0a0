#pragma once
// Comma-separated CIDR lists (--trusted-subnets and similar flags).
#include <string_view>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/result.hpp"

namespace weft {

/// "10.0.0.0/8,192.168.0.0/16" -> CIDRs; "" -> empty. Any bad element is an error naming it.
Result<std::vector<Cidr>> parse_cidr_list(std::string_view s);
bool any_contains(const std::vector<Cidr>& list, Ipv4 a);

}  // namespace weft
