#include "weft/proxy/rewrite.hpp"

#include <fmt/format.h>

#include <regex>

#include "weft/attach/weave_cli.hpp"
#include "weft/http/url.hpp"

namespace weft::proxy {

namespace {

/// Strips an optional /v[0-9.]* prefix.
std::string_view strip_version(std::string_view p) {
  if (p.size() >= 2 && p[0] == '/' && p[1] == 'v') {
    std::size_t i = 2;
    while (i < p.size() && (std::isdigit(static_cast<unsigned char>(p[i])) || p[i] == '.')) ++i;
    if (i == p.size() || p[i] == '/') return p.substr(i);
  }
  return p;
}

/// A JSON string or array of strings as a vector (Docker accepts both for Cmd/Entrypoint).
std::vector<std::string> strings_of(const Json& j) {
  std::vector<std::string> out;
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
  } else if (j.is_array()) {
    for (const auto& e : j) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

bool empty_command(const Json* j) { return j == nullptr || j->is_null() || strings_of(*j).empty(); }

const Json* field(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string string_field(const Json& j, const char* key) {
  const Json* f = field(j, key);
  return f && f->is_string() ? f->get<std::string>() : std::string();
}

std::string trim_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

/// Binds: drop entries whose container path is /w, then add the wrapper volume.
void set_w_bind(Json& host_config, const std::string& host_path) {
  Json binds = Json::array();
  if (const Json* b = field(host_config, "Binds"); b && b->is_array()) {
    for (const auto& e : *b) {
      if (e.is_string()) {
        const auto& s = e.get_ref<const std::string&>();
        auto c1 = s.find(':');
        if (c1 != std::string::npos) {
          auto c2 = s.find(':', c1 + 1);
          if (s.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1) == "/w") continue;
        }
      }
      binds.push_back(e);
    }
  }
  binds.push_back(host_path + ":/w:ro");
  host_config["Binds"] = std::move(binds);
}

void add_dns(Json& host_config, Json& dns_search_holder, const char* search_key, bool name_empty,
             const RewriteConfig& cfg) {
  Json dns = Json::array();
  if (const Json* d = field(host_config, "Dns"); d && d->is_array()) dns = *d;
  dns.push_back(cfg.dns_host);
  host_config["Dns"] = std::move(dns);
  const Json* s = field(dns_search_holder, search_key);
  if (s == nullptr || s->is_null() || (s->is_array() && s->empty())) {
    dns_search_holder[search_key] = Json::array({name_empty ? cfg.dns_domain : std::string(".")});
  }
}

std::optional<Json> parse(std::string_view body) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace

Route classify(std::string_view path) {
  auto parts = http::split_path(strip_version(path));
  if (parts.size() == 2 && parts[0] == "containers" && parts[1] == "create") return Route::create;
  if (parts.size() == 3 && parts[0] == "containers") {
    if (parts[2] == "start" || parts[2] == "restart") return Route::start;
    if (parts[2] == "json") return Route::inspect;
    if (parts[2] == "exec") return Route::exec_create;
  }
  if (parts.size() == 3 && parts[0] == "exec" && parts[2] == "json") return Route::exec_inspect;
  return Route::pass;
}

std::string path_id(std::string_view path) {
  auto parts = http::split_path(strip_version(path));
  if (parts.size() >= 2 && (parts[0] == "containers" || parts[0] == "exec")) return std::string(parts[1]);
  return "";
}

Result<std::optional<std::vector<AddrSpec>>> qualifying_specs(std::string_view network_mode,
                                                              const std::vector<std::string>& env,
                                                              bool no_default_ipalloc) {
  if (!(network_mode.empty() || network_mode == "default" || network_mode == "bridge" || network_mode == "none")) {
    return std::optional<std::vector<AddrSpec>>{};
  }
  const std::string* value = nullptr;
  for (const auto& e : env) {
    if (e.starts_with("WEAVE_CIDR=")) {
      value = &e;
      break;
    }
  }
  std::vector<AddrSpec> specs;
  if (value == nullptr) {
    if (no_default_ipalloc) return std::optional<std::vector<AddrSpec>>{};
    specs.push_back(AddrSpec{AddrSpec::Kind::net_default, Cidr(), "net:default"});
    return std::optional(specs);
  }
  std::string_view v = std::string_view(*value).substr(11);
  if (v == "none") return std::optional<std::vector<AddrSpec>>{};
  std::size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i]))) ++i;
    std::size_t j = i;
    while (j < v.size() && !std::isspace(static_cast<unsigned char>(v[j]))) ++j;
    if (j == i) break;
    std::string_view w = v.substr(i, j - i);
    i = j;
    auto spec = attach::parse_addr_spec(w);
    if (!spec) return make_error("invalid address spec \"{}\" in WEAVE_CIDR", w);
    if (spec->kind == AddrSpec::Kind::net) spec->cidr = spec->cidr.network();
    specs.push_back(std::move(*spec));
  }
  if (specs.empty()) specs.push_back(AddrSpec{AddrSpec::Kind::net_default, Cidr(), "net:default"});
  return std::optional(specs);
}

Result<std::optional<std::vector<AddrSpec>>> qualifying_specs(const Json& container, bool no_default_ipalloc) {
  std::string mode;
  if (const Json* hc = field(container, "HostConfig")) mode = string_field(*hc, "NetworkMode");
  std::vector<std::string> env;
  const Json* config = field(container, "Config");
  const Json* e = config ? field(*config, "Env") : field(container, "Env");
  if (e) env = strings_of(*e);
  return qualifying_specs(mode, env, no_default_ipalloc);
}

Result<std::string> replace_hostname(std::string_view name, const std::string& match,
                                     const std::string& replacement) {
  std::regex re;
  try {
    re = std::regex(match, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return make_error("invalid --hostname-match regexp \"{}\": {}", match, e.what());
  }
  // ${n} -> $n (ECMAScript format strings only know $n).
  std::string fmt_str;
  for (std::size_t i = 0; i < replacement.size(); ++i) {
    if (replacement[i] == '$' && i + 1 < replacement.size() && replacement[i + 1] == '{') {
      auto close = replacement.find('}', i + 2);
      if (close != std::string::npos) {
        fmt_str += '$';
        fmt_str += replacement.substr(i + 2, close - i - 2);
        i = close;
        continue;
      }
    }
    fmt_str += replacement[i];
  }
  std::string s(name);
  // Go's ReplaceAllString: successive non-overlapping matches; an empty match right after the
  // previous match is ignored (std::regex_replace would replace it, doubling "$1.x" suffixes).
  std::string out;
  auto pos = s.cbegin();
  const auto end = s.cend();
  bool had_prev = false;
  auto prev_end = s.cbegin();
  std::smatch m;
  while (true) {
    auto flags = pos == s.cbegin() ? std::regex_constants::match_default : std::regex_constants::match_prev_avail;
    if (!std::regex_search(pos, end, m, re, flags)) break;
    auto mstart = m[0].first, mend = m[0].second;
    if (m.length(0) == 0 && had_prev && mstart == prev_end) {
      if (mstart == end) break;
      out.append(pos, mstart + 1);
      pos = mstart + 1;
      continue;
    }
    out.append(pos, mstart);
    out += m.format(fmt_str);
    had_prev = true;
    prev_end = mend;
    if (m.length(0) == 0) {
      if (mstart == end) {
        pos = end;
        break;
      }
      out += *mstart;
      pos = mstart + 1;
    } else {
      pos = mend;
    }
  }
  out.append(pos, end);
  return out;
}

std::variant<CreatePlan, HttpError> plan_create(std::string_view body, bool no_default_ipalloc) {
  auto j = parse(body);
  if (!j || !j->is_object()) return HttpError{500, "invalid character in JSON body of container create"};
  CreatePlan plan;
  auto specs = qualifying_specs(*j, no_default_ipalloc);
  if (!specs) return HttpError{500, specs.error().message};
  plan.qualifies = specs->has_value();
  if (!plan.qualifies) return plan;
  plan.image = string_field(*j, "Image");
  plan.needs_image = empty_command(field(*j, "Entrypoint"));
  return plan;
}

std::variant<std::string, HttpError> rewrite_create(std::string_view body, std::string_view name_query,
                                                    const Json& image, const RewriteConfig& cfg) {
  auto parsed = parse(body);
  if (!parsed || !parsed->is_object()) return HttpError{500, "invalid JSON body of container create"};
  Json j = std::move(*parsed);
  Json& hc = j["HostConfig"];
  if (!hc.is_object()) hc = Json::object();
  // 1. Binds.
  set_w_bind(hc, cfg.no_multicast_route ? cfg.w_nomcast_path : cfg.w_path);
  // 2. Entrypoint.
  if (empty_command(field(j, "Entrypoint"))) {
    const Json* ic = field(image, "Config");
    if (ic == nullptr || !ic->is_object()) ic = field(image, "ContainerConfig");
    Json empty = Json::object();
    const Json& icfg = ic ? *ic : empty;
    if (empty_command(field(j, "Cmd"))) {
      const Json* c = field(icfg, "Cmd");
      j["Cmd"] = c ? *c : Json(nullptr);
    }
    const Json* ep = field(j, "Entrypoint");
    if (ep == nullptr || ep->is_null()) {
      const Json* iep = field(icfg, "Entrypoint");
      j["Entrypoint"] = iep ? *iep : Json(nullptr);
    }
    if (empty_command(field(j, "Entrypoint")) && empty_command(field(j, "Cmd"))) {
      return HttpError{500, "No command specified"};
    }
  }
  auto entry = strings_of(j.contains("Entrypoint") ? j["Entrypoint"] : Json(nullptr));
  if (entry.empty() || entry[0] != "/w/w") entry.insert(entry.begin(), "/w/w");
  j["Entrypoint"] = entry;
  if (const Json* c = field(j, "Cmd"); c && c->is_string()) j["Cmd"] = strings_of(*c);
  // 3. Name.
  std::string name(name_query);
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  if (!cfg.hostname_from_label.empty()) {
    if (const Json* labels = field(j, "Labels"); labels && labels->is_object()) {
      std::string v = string_field(*labels, cfg.hostname_from_label.c_str());
      if (!v.empty()) name = v;
    }
  }
  auto replaced = replace_hostname(name, cfg.hostname_match, cfg.hostname_replacement);
  if (!replaced) return HttpError{500, replaced.error().message};
  name = *replaced;
  // 4. DNS.
  if (!cfg.without_dns) {
    if (string_field(j, "Hostname").empty() && !name.empty()) {
      std::string domain = trim_dot(cfg.dns_domain);
      if (name.size() + 1 + domain.size() <= 64) {
        j["Hostname"] = name;
        j["Domainname"] = domain;
      }
    }
    add_dns(hc, hc, "DnsSearch", name.empty(), cfg);
  }
  return encode(j);
}

std::optional<std::string> rewrite_start_body(std::string_view body, std::string_view content_type,
                                              const Json& container, const RewriteConfig& cfg) {
  if (!has_weavewait(container) || content_type != "application/json" || body.empty()) return std::nullopt;
  auto parsed = parse(body);
  if (!parsed || !parsed->is_object() || parsed->empty()) return std::nullopt;
  Json j = std::move(*parsed);
  Json* hc = nullptr;
  if (auto it = j.find("HostConfig"); it != j.end() && it->is_object()) hc = &*it;
  else hc = &j;
  std::string mode = string_field(*hc, "NetworkMode");
  if (mode == "host" || mode.starts_with("container:")) {
    set_w_bind(*hc, cfg.w_noop_path);
  } else {
    set_w_bind(*hc, cfg.no_multicast_route ? cfg.w_nomcast_path : cfg.w_path);
    if (!cfg.without_dns) {
      std::string hostname;
      if (const Json* c = field(container, "Config")) hostname = string_field(*c, "Hostname");
      add_dns(*hc, *hc, "DnsSearch", hostname.empty(), cfg);
    }
  }
  return encode(j);
}

bool has_weavewait(const Json& container) {
  const Json* c = field(container, "Config");
  if (!c) return false;
  const Json* ep = field(*c, "Entrypoint");
  if (!ep) return false;
  auto v = strings_of(*ep);
  return !v.empty() && v[0] == "/w/w";
}

std::optional<std::string> rewrite_exec(std::string_view body, const Json& container, bool no_default_ipalloc) {
  bool has_w = false;
  if (const Json* vols = field(container, "Volumes"); vols && vols->is_object() && vols->contains("/w")) has_w = true;
  if (const Json* mounts = field(container, "Mounts"); mounts && mounts->is_array()) {
    for (const auto& m : *mounts) {
      if (string_field(m, "Destination") == "/w") has_w = true;
    }
  }
  if (!has_w) return std::nullopt;
  auto specs = qualifying_specs(container, no_default_ipalloc);
  if (!specs || !specs->has_value()) return std::nullopt;
  auto parsed = parse(body);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  Json j = std::move(*parsed);
  std::vector<std::string> cmd{"/w/w"};
  if (const Json* c = field(j, "Cmd")) {
    for (auto& s : strings_of(*c)) cmd.push_back(std::move(s));
  }
  j["Cmd"] = cmd;
  return encode(j);
}

Result<std::optional<attach::Request>> attach_request(const Json& c, const std::string& fallback_id, int pid,
                                                      const RewriteConfig& cfg, const AttachOptions& opt) {
  const Json* st = field(c, "State");
  bool running = st && st->is_object() && st->value("Running", false);
  if (!has_weavewait(c) || !running) return std::optional<attach::Request>();
  WEFT_TRY(specs, qualifying_specs(c, cfg.no_default_ipalloc));
  if (!specs) return std::optional<attach::Request>();
  attach::Request rq;
  rq.ident = string_field(c, "Id");
  if (rq.ident.empty()) rq.ident = fallback_id;
  rq.specs = std::move(*specs);
  rq.check_alive = true;
  rq.veth = attach::VethStep{.bridge = opt.bridge, .veth_id = std::to_string(pid)};
  rq.multicast_route = !cfg.no_multicast_route;
  const Json* config = field(c, "Config");
  std::string hostname = config ? string_field(*config, "Hostname") : "";
  std::string domainname = config ? string_field(*config, "Domainname") : "";
  if (!opt.no_rewrite_hosts) {
    attach::Request::Hosts h{hostname, domainname, {}};
    if (const Json* hc = field(c, "HostConfig")) {
      if (const Json* eh = field(*hc, "ExtraHosts"); eh && eh->is_array()) {
        for (const auto& e : *eh) {
          if (e.is_string()) h.extra_hosts.push_back(e.get<std::string>());
        }
      }
    }
    rq.hosts = std::move(h);
  }
  if (!cfg.without_dns && !domainname.empty()) rq.fqdn = hostname + "." + domainname;
  return std::optional<attach::Request>(std::move(rq));
}

void set_network_settings(Json& container, const std::string& mac, const Cidr& cidr) {
  Json& ns = container["NetworkSettings"];
  if (!ns.is_object()) ns = Json::object();
  ns["MacAddress"] = mac;
  ns["IPAddress"] = cidr.addr().str();
  ns["IPPrefixLen"] = cidr.prefix();
}

std::string encode(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace weft::proxy
