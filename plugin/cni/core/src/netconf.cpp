#include "weft/cni/netconf.hpp"

#include <fmt/format.h>

#include <cctype>

namespace weft::cni {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view go_type(const Json& j) {
  switch (j.type()) {
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "number";
    case Json::value_t::number_float: return "number";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    default: return "null";
  }
}

CniError load_error(int code, std::string why) { return {code, "failed to load netconf: " + std::move(why), ""}; }

CniError type_error(const Json& got, std::string_view field, std::string_view want) {
  return load_error(kInvalidConfig, fmt::format("json: cannot unmarshal {} into Go struct field {} of type {}",
                                                go_type(got), field, want));
}

}  // namespace

const Json* go_field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(key));
  if (it != obj.end()) return &*it;
  for (auto i = obj.begin(); i != obj.end(); ++i) {
    if (iequal(i.key(), key)) return &i.value();
  }
  return nullptr;
}

int compare_versions(std::string_view a, std::string_view b) {
  auto part = [](std::string_view& s) {
    int v = 0;
    while (!s.empty() && s.front() != '.') {
      if (s.front() >= '0' && s.front() <= '9') v = v * 10 + (s.front() - '0');
      s.remove_prefix(1);
    }
    if (!s.empty()) s.remove_prefix(1);
    return v;
  };
  for (int i = 0; i < 3; ++i) {
    int x = part(a), y = part(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::variant<std::string, CniError> decode_version(std::string_view in) {
  auto j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return CniError{kDecodeFailure, "decoding version from network config: not a JSON object", ""};
  }
  const Json* v = go_field(j, "cniVersion");
  if (v == nullptr || v->is_null()) return std::string("0.1.0");
  if (!v->is_string()) {
    return CniError{kDecodeFailure,
                    fmt::format("decoding version from network config: json: cannot unmarshal {} into Go "
                                "struct field .cniVersion of type string",
                                go_type(*v)),
                    ""};
  }
  auto s = v->get<std::string>();
  return s.empty() ? std::string("0.1.0") : s;
}

std::optional<CniError> check_version(std::string_view version) {
  for (auto v : kSupportedVersions) {
    if (v == version) return std::nullopt;
  }
  std::string list;
  for (auto v : kSupportedVersions) list += fmt::format("{}\"{}\"", list.empty() ? "" : " ", v);
  return CniError{kIncompatibleVersion, "incompatible CNI versions",
                  fmt::format("config is \"{}\", plugin supports [{}]", version, list)};
}

std::variant<NetConf, CniError> parse_netconf(std::string_view in) {
  auto j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return load_error(kDecodeFailure, "the configuration is not JSON");
  if (!j.is_object()) return load_error(kDecodeFailure, "json: cannot unmarshal " + std::string(go_type(j)) +
                                                            " into Go value of type main.NetConf");
  NetConf c;
  auto str = [&](const Json& o, std::string_view key, std::string_view field,
                 std::string& out) -> std::optional<CniError> {
    const Json* v = go_field(o, key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_string()) return type_error(*v, field, "string");
    out = v->get<std::string>();
    return std::nullopt;
  };
  auto boolean = [&](std::string_view key, std::string_view field, bool& out) -> std::optional<CniError> {
    const Json* v = go_field(j, key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_boolean()) return type_error(*v, field, "bool");
    out = v->get<bool>();
    return std::nullopt;
  };
  if (auto e = str(j, "cniVersion", "NetConf.cniVersion", c.cni_version)) return *e;
  if (c.cni_version.empty()) c.cni_version = "0.1.0";
  if (auto e = str(j, "name", "NetConf.name", c.name)) return *e;
  if (auto e = str(j, "type", "NetConf.type", c.type)) return *e;
  if (auto e = str(j, "bridge", "NetConf.bridge", c.bridge)) return *e;
  if (c.bridge.empty()) c.bridge = "weave";
  if (c.bridge.size() > 15 || c.bridge.find('/') != std::string::npos) {
    return load_error(kInvalidConfig, fmt::format("invalid bridge name \"{}\"", c.bridge));
  }
  if (const Json* v = go_field(j, "mtu"); v != nullptr && !v->is_null()) {
    if (!v->is_number_integer()) return type_error(*v, "NetConf.mtu", "int");
    auto m = v->get<std::int64_t>();
    if (m < 0 || m > 65535 || (m > 0 && m < 68)) {
      return load_error(kInvalidConfig, fmt::format("invalid mtu {} (68..65535, or 0 for the bridge's)", m));
    }
    c.mtu = static_cast<std::uint32_t>(m);
  }
  if (auto e = boolean("hairpinMode", "NetConf.hairpinMode", c.hairpin)) return *e;
  if (auto e = boolean("isGateway", "NetConf.isGateway", c.is_gateway)) return *e;
  if (auto e = boolean("ipMasq", "NetConf.ipMasq", c.ip_masq)) return *e;
  if (const Json* v = go_field(j, "dns"); v != nullptr && !v->is_null()) {
    if (!v->is_object()) return type_error(*v, "NetConf.dns", "types.DNS");
    c.dns = *v;
  }
  if (const Json* v = go_field(j, "prevResult"); v != nullptr && !v->is_null()) c.prev_result = *v;
  if (const Json* ipam = go_field(j, "ipam"); ipam != nullptr && !ipam->is_null()) {
    if (!ipam->is_object()) return type_error(*ipam, "NetConf.ipam", "ipam.IPAMConfig");
    if (auto e = str(*ipam, "type", "IPAMConfig.type", c.ipam.type)) return *e;
    std::string subnet;
    if (const Json* s = go_field(*ipam, "subnet"); s != nullptr && !s->is_null()) {
      if (!s->is_string()) return type_error(*s, "IPAMConfig.subnet", "string");
      subnet = s->get<std::string>();
      if (!Cidr::parse(subnet)) {
        return CniError{kInvalidConfig, fmt::format("subnet given in config, but not parseable: invalid CIDR address: {}", subnet), ""};
      }
      c.ipam.subnet = subnet;
    }
    if (const Json* g = go_field(*ipam, "gateway"); g != nullptr && !g->is_null()) {
      auto ip = g->is_string() ? Ipv4::parse(g->get<std::string>()) : std::nullopt;
      if (!ip) return load_error(kInvalidConfig, fmt::format("invalid ipam gateway {}", g->dump()));
      c.ipam.gateway = ip;
    }
    if (const Json* rs = go_field(*ipam, "routes"); rs != nullptr && !rs->is_null()) {
      if (!rs->is_array()) return type_error(*rs, "IPAMConfig.routes", "[]*types.Route");
      std::vector<Route> routes;
      for (const auto& r : *rs) {
        const Json* dst = go_field(r, "dst");
        auto d = dst != nullptr && dst->is_string() ? Cidr::parse(dst->get<std::string>()) : std::nullopt;
        if (!d) return load_error(kInvalidConfig, fmt::format("invalid ipam route {}", r.dump()));
        Route route{*d, std::nullopt};
        if (const Json* gw = go_field(r, "gw"); gw != nullptr && !gw->is_null()) {
          auto ip = gw->is_string() ? Ipv4::parse(gw->get<std::string>()) : std::nullopt;
          if (!ip) return load_error(kInvalidConfig, fmt::format("invalid ipam route {}", r.dump()));
          route.gw = ip;
        }
        routes.push_back(route);
      }
      c.ipam.routes = std::move(routes);
    }
  }
  return c;
}

}  // namespace weft::cni
