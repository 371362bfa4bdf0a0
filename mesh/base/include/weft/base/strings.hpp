#pragma once
// Small string helpers shared across the tree.
#include <string_view>
#include <vector>

namespace weft {

/// Go's strings.Split: "a,b,,c" on ',' -> {"a","b","","c"}; "" -> {""}. Views point into `s`.
std::vector<std::string_view> split(std::string_view s, char sep);

}  // namespace weft
