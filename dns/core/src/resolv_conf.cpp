#include "weft/dns/resolv_conf.hpp"

#include <algorithm>

namespace weft::dns {
namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_loopback(std::string_view s) { return s.substr(0, 4) == "127." || s == "::1"; }

}  // namespace

std::vector<std::string> parse_resolv_conf(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto f = fields(line);
    if (f.size() < 2 || f[0].front() == '#' || f[0].front() == ';') continue;
    if (f[0] == "nameserver") out.emplace_back(f[1]);
  }
  return out;
}

std::vector<std::string> filter_upstreams(std::vector<std::string> servers, std::string_view own_address,
                                          bool listening_on_any, bool same_port) {
  std::erase_if(servers, [&](const std::string& s) {
    if (!own_address.empty() && s == own_address) return true;
    return listening_on_any && same_port && is_loopback(s);
  });
  return servers;
}

}  // namespace weft::dns
