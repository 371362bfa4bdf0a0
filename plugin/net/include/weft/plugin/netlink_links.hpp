#pragma once
// NetlinkLinks: Links over rtnetlink, in the calling thread's network namespace (the host's).
#include <string>

#include "weft/base/logger.hpp"
#include "weft/plugin/apis.hpp"

namespace weft::plugin {

class NetlinkLinks final : public Links {
 public:
  NetlinkLinks(std::string bridge, Logger log) : bridge_(std::move(bridge)), log_(std::move(log)) {}

  /// Leftover links of the same names are deleted first. On failure nothing is left behind.
  Result<Mac> create_veth(const VethPair& names) override;
  Result<bool> delete_link(std::string_view name) override;

 private:
  std::string bridge_;
  Logger log_;
};

}  // namespace weft::plugin
