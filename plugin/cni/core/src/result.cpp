#include "weft/cni/result.hpp"

#include <fmt/format.h>

namespace weft::cni {

namespace {

std::string cidr_str(const Cidr& c) { return fmt::format("{}/{}", c.addr(), c.prefix()); }

Json route_json(const Route& r) {
  Json o = {{"dst", cidr_str(r.dst.network())}};
  if (r.gw) o["gw"] = fmt::format("{}", *r.gw);
  return o;
}

bool legacy(std::string_view v) { return compare_versions(v, "0.3.0") < 0; }

CniError bad(std::string why) { return {kDecodeFailure, "failed to parse the IPAM result: " + std::move(why), ""}; }

}  // namespace

Json result_json(const AddResult& r, std::string_view version) {
  Json out = Json::object();
  if (legacy(version)) {
    out["cniVersion"] = std::string(version);
    if (!r.ips.empty()) {
      Json ip4 = {{"ip", cidr_str(r.ips[0].address)}};
      if (r.ips[0].gateway) ip4["gateway"] = fmt::format("{}", *r.ips[0].gateway);
      if (r.routes && !r.routes->empty()) {
        ip4["routes"] = Json::array();
        for (const auto& rt : *r.routes) ip4["routes"].push_back(route_json(rt));
      }
      out["ip4"] = std::move(ip4);
    }
    out["dns"] = r.dns.is_object() ? r.dns : Json::object();
    return out;
  }
  bool v1 = compare_versions(version, "1.0.0") >= 0;
  out["cniVersion"] = std::string(version);
  if (!r.interfaces.empty()) {
    out["interfaces"] = Json::array();
    for (const auto& i : r.interfaces) {
      Json o = {{"name", i.name}};
      if (i.mac) o["mac"] = i.mac->str();
      if (!i.sandbox.empty()) o["sandbox"] = i.sandbox;
      out["interfaces"].push_back(std::move(o));
    }
  }
  out["ips"] = Json::array();
  for (const auto& ip : r.ips) {
    Json o = Json::object();
    if (!v1) o["version"] = "4";
    if (ip.interface) o["interface"] = *ip.interface;
    o["address"] = cidr_str(ip.address);
    if (ip.gateway) o["gateway"] = fmt::format("{}", *ip.gateway);
    out["ips"].push_back(std::move(o));
  }
  if (r.routes && !r.routes->empty()) {
    out["routes"] = Json::array();
    for (const auto& rt : *r.routes) out["routes"].push_back(route_json(rt));
  }
  out["dns"] = r.dns.is_object() ? r.dns : Json::object();
  return out;
}

std::string encode_result(const AddResult& r, std::string_view version) {
  return result_json(r, version).dump(4);
}

std::variant<AddResult, CniError> decode_result(const Json& j) {
  if (!j.is_object()) return bad("not a JSON object");
  AddResult r;
  auto parse_route = [](const Json& o) -> std::optional<Route> {
    const Json* d = go_field(o, "dst");
    auto dst = d && d->is_string() ? Cidr::parse(d->get<std::string>()) : std::nullopt;
    if (!dst) return std::nullopt;
    Route rt{*dst, std::nullopt};
    if (const Json* g = go_field(o, "gw"); g && !g->is_null()) {
      auto ip = g->is_string() ? Ipv4::parse(g->get<std::string>()) : std::nullopt;
      if (!ip) return std::nullopt;
      rt.gw = ip;
    }
    return rt;
  };
  auto parse_routes = [&](const Json* rs) -> std::variant<std::optional<std::vector<Route>>, CniError> {
    if (rs == nullptr || rs->is_null()) return std::optional<std::vector<Route>>();
    if (!rs->is_array()) return bad("routes is not an array");
    std::vector<Route> out;
    for (const auto& o : *rs) {
      auto rt = parse_route(o);
      if (!rt) return bad("bad route " + o.dump());
      out.push_back(*rt);
    }
    return std::optional<std::vector<Route>>(std::move(out));
  };
  if (const Json* ip4 = go_field(j, "ip4"); ip4 && !ip4->is_null()) {
    // 0.1.0 / 0.2.0. NB: converting up gives `routes: []` (non-null) even when absent, as the Go
    // library does, so the pod then gets no default route (kube spec §1.4 step 7).
    const Json* ip = go_field(*ip4, "ip");
    auto c = ip && ip->is_string() ? Cidr::parse(ip->get<std::string>()) : std::nullopt;
    if (!c) return bad("ip4.ip is not a CIDR");
    IpConfig cfg{*c, std::nullopt, std::nullopt};
    if (const Json* g = go_field(*ip4, "gateway"); g && !g->is_null()) {
      auto gw = g->is_string() ? Ipv4::parse(g->get<std::string>()) : std::nullopt;
      if (!gw) return bad("ip4.gateway is not an IPv4 address");
      cfg.gateway = gw;
    }
    r.ips.push_back(cfg);
    auto rs = parse_routes(go_field(*ip4, "routes"));
    if (auto* e = std::get_if<CniError>(&rs)) return *e;
    auto routes = std::get<0>(std::move(rs));
    r.routes = routes ? std::move(*routes) : std::vector<Route>{};
  } else {
    if (const Json* ifs = go_field(j, "interfaces"); ifs && ifs->is_array()) {
      for (const auto& o : *ifs) {
        Interface i;
        if (const Json* n = go_field(o, "name"); n && n->is_string()) i.name = n->get<std::string>();
        if (const Json* m = go_field(o, "mac"); m && m->is_string()) i.mac = Mac::parse(m->get<std::string>());
        if (const Json* s = go_field(o, "sandbox"); s && s->is_string()) i.sandbox = s->get<std::string>();
        r.interfaces.push_back(std::move(i));
      }
    }
    const Json* ips = go_field(j, "ips");
    if (ips && !ips->is_null() && !ips->is_array()) return bad("ips is not an array");
    if (ips && ips->is_array()) {
      for (const auto& o : *ips) {
        const Json* a = go_field(o, "address");
        auto c = a && a->is_string() ? Cidr::parse(a->get<std::string>()) : std::nullopt;
        if (!c) continue;  // IPv6 and other families: weft's weave network is IPv4
        IpConfig cfg{*c, std::nullopt, std::nullopt};
        if (const Json* g = go_field(o, "gateway"); g && !g->is_null()) {
          auto gw = g->is_string() ? Ipv4::parse(g->get<std::string>()) : std::nullopt;
          if (gw) cfg.gateway = gw;
        }
        if (const Json* i = go_field(o, "interface"); i && i->is_number_integer()) cfg.interface = i->get<int>();
        r.ips.push_back(cfg);
      }
    }
    auto rs = parse_routes(go_field(j, "routes"));
    if (auto* e = std::get_if<CniError>(&rs)) return *e;
    r.routes = std::get<0>(std::move(rs));
  }
  if (const Json* d = go_field(j, "dns"); d && d->is_object()) r.dns = *d;
  return r;
}

std::string encode_error(const CniError& e, std::string_view version) {
  Json o = Json::object();
  o["cniVersion"] = std::string(version);
  o["code"] = e.code;
  o["msg"] = e.msg;
  if (!e.details.empty()) o["details"] = e.details;
  return o.dump(4);
}

std::string encode_version(std::string_view requested) {
  std::string v = check_version(requested) ? std::string("1.0.0") : std::string(requested);
  Json o = {{"cniVersion", v}, {"supportedVersions", Json::array()}};
  for (auto s : kSupportedVersions) o["supportedVersions"].push_back(std::string(s));
  return o.dump();
}

}  // namespace weft::cni
