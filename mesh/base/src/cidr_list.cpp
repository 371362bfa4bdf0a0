#include "weft/base/cidr_list.hpp"

namespace weft {

Result<std::vector<Cidr>> parse_cidr_list(std::string_view s) {
  std::vector<Cidr> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    auto item = s.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      auto c = Cidr::parse(item);
      if (!c) return make_error("invalid CIDR address: {}", item);
      out.push_back(c->network());
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

bool any_contains(const std::vector<Cidr>& list, Ipv4 a) {
  for (auto& c : list) {
    if (c.contains(a)) return true;
  }
  return false;
}

}  // namespace weft
