#pragma once
// CNI network configuration as weave-net and weave-ipam read it (kube spec §1.3, §2), and the
// protocol's version rules. Pure: no I/O.
//
// Keys match case-insensitively (Go encoding/json), unknown keys are ignored, a wrong JSON type is
// an error worded like Go's. weft accepts the config versions 0.1.0 .. 1.0.0 (Weave stopped at
// 0.3.0).
#include <nlohmann/json.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "weft/base/ipv4.hpp"
#include "weft/base/result.hpp"

namespace weft::cni {

using Json = nlohmann::json;

inline constexpr std::array<std::string_view, 6> kSupportedVersions = {"0.1.0", "0.2.0", "0.3.0",
                                                                       "0.3.1", "0.4.0", "1.0.0"};

/// CNI spec error codes (SPEC.md "Error"). Codes 1-99 are the spec's; 100+ the plugin's.
enum ErrorCode : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kPluginError = 100,
};

/// An error as the runtime sees it: {"code":N,"msg":"...","details":"..."}.
struct CniError {
  int code = kPluginError;
  std::string msg;
  std::string details;
};

struct Route {
  Cidr dst;
  std::optional<Ipv4> gw;
  bool operator==(const Route&) const = default;
};

struct IpamConf {
  std::string type;                   ///< "" = the router's IPAM in-process
  std::optional<std::string> subnet;  ///< as written (the router checks it)
  std::optional<Ipv4> gateway;
  std::optional<std::vector<Route>> routes;  ///< present (even empty) = no default route
};

struct NetConf {
  std::string cni_version = "0.1.0";  ///< absent or "" means 0.1.0
  std::string name;
  std::string type;
  std::string bridge = "weave";
  std::uint32_t mtu = 0;  ///< 0 = the bridge's
  bool hairpin = true;    ///< `hairpinMode`; absent or null = true
  bool is_gateway = false;
  bool ip_masq = false;
  Json dns = Json::object();
  IpamConf ipam;
  Json prev_result;  ///< `prevResult` (CHECK, chained plugins); null if absent
};

/// The `cniVersion` of any config (0.1.0 if absent/empty). Not JSON →
/// `decoding version from network config: <why>` (code 6).
std::variant<std::string, CniError> decode_version(std::string_view stdin_bytes);
/// Whether VERSION is one weft speaks; else code 1 `incompatible CNI versions`.
std::optional<CniError> check_version(std::string_view version);
/// Ordering of dotted versions ("0.3.1" < "0.4.0"); unparsable parts compare as 0.
int compare_versions(std::string_view a, std::string_view b);

/// Errors: `failed to load netconf: <why>` (code 7 for types/values, 6 for non-JSON).
std::variant<NetConf, CniError> parse_netconf(std::string_view stdin_bytes);

/// The member KEY of OBJ, matched like Go's encoding/json (exact first, then case-insensitive);
/// null when absent.
const Json* go_field(const Json& obj, std::string_view key);

}  // namespace weft::cni
