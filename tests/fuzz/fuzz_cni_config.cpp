// libFuzzer: CNI network configuration (stdin from the runtime) through the version decoder, the
// config parser and the result decoder (prevResult / delegated IPAM output).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "weft/cni/netconf.hpp"
#include "weft/cni/result.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)weft::cni::decode_version(in);
  auto c = weft::cni::parse_netconf(in);
  if (auto* conf = std::get_if<weft::cni::NetConf>(&c)) {
    FUZZ_CHECK(!conf->bridge.empty() && conf->bridge.size() <= 15);
    FUZZ_CHECK(conf->mtu == 0 || (conf->mtu >= 68 && conf->mtu <= 65535));
    if (!conf->prev_result.is_null()) {
      auto r = weft::cni::decode_result(conf->prev_result);
      if (auto* res = std::get_if<weft::cni::AddResult>(&r)) {
        for (auto v : weft::cni::kSupportedVersions) (void)weft::cni::encode_result(*res, v);
      }
    }
  }
  auto j = weft::cni::Json::parse(in, nullptr, false);
  if (!j.is_discarded()) (void)weft::cni::decode_result(j);
  return 0;
}
