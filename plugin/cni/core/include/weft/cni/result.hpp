#pragma once
// CNI results, errors and VERSION answers in every format weft speaks (CNI SPEC.md; kube spec
// §1.6): 0.1.0/0.2.0 `ip4`, 0.3.x/0.4.0 `interfaces`+`ips` with "version", 1.0.0 without it.
// Pure: no I/O. Output is indented with 4 spaces as the Go library prints it.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "weft/base/mac.hpp"
#include "weft/cni/netconf.hpp"

namespace weft::cni {

struct Interface {
  std::string name;
  std::optional<Mac> mac;
  std::string sandbox;  ///< the netns path for the container end; "" on the host
  bool operator==(const Interface&) const = default;
};

struct IpConfig {
  Cidr address;  ///< host address with prefix, 10.32.0.5/12
  std::optional<Ipv4> gateway;
  std::optional<int> interface;  ///< index into AddResult::interfaces
  bool operator==(const IpConfig&) const = default;
};

struct AddResult {
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::optional<std::vector<Route>> routes;  ///< nullopt = none given (weave: default route)
  Json dns = Json::object();
};

/// The result as VERSION's format. Routes and interfaces are omitted when empty.
Json result_json(const AddResult& r, std::string_view version);
std::string encode_result(const AddResult& r, std::string_view version);
/// A result of any version (a delegated IPAM plugin's stdout, or prevResult).
std::variant<AddResult, CniError> decode_result(const Json& j);

/// {"cniVersion":V,"code":N,"msg":...,"details":...}; details left out when empty.
std::string encode_error(const CniError& e, std::string_view version);
/// {"cniVersion":V,"supportedVersions":[...]}; V is the request's if weft speaks it, else 1.0.0.
std::string encode_version(std::string_view requested);

}  // namespace weft::cni
