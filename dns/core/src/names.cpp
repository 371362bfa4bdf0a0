#include "weft/dns/names.hpp"

#include <algorithm>

namespace weft::dns {
namespace {
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string fqdn(std::string_view s) {
  if (!s.empty() && s.back() == '.') {
    // NB: "a\." ends in an escaped dot, which is part of the label: count the backslashes.
    std::size_t slashes = 0;
    for (std::size_t i = s.size() - 1; i > 0 && s[i - 1] == '\\'; --i) ++slashes;
    if (slashes % 2 == 0) return std::string(s);
  }
  return std::string(s) + ".";
}

bool is_subdomain(std::string_view name, std::string_view zone) {
  if (zone == ".") return true;
  if (name.size() < zone.size()) return false;
  if (!iequals(name.substr(name.size() - zone.size()), zone)) return false;
  if (name.size() == zone.size()) return true;
  return name[name.size() - zone.size() - 1] == '.';
}

std::string_view trim_domain(std::string_view hostname, std::string_view domain) {
  std::string suffix = "." + std::string(domain);
  if (hostname.size() >= suffix.size() && hostname.substr(hostname.size() - suffix.size()) == suffix) {
    return hostname.substr(0, hostname.size() - suffix.size());
  }
  return hostname;
}

std::size_t count_dots(std::string_view s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '.')); }

}  // namespace weft::dns
