#include "weft/plugin/driver.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "weft/plugin/go_json.hpp"

namespace weft::plugin {
namespace {

using Json = nlohmann::ordered_json;
using StringMap = std::map<std::string, std::string>;

constexpr std::string_view kGenericOptions = "com.docker.network.generic";
constexpr std::string_view kGatewayData = "com.docker.network.gateway";
constexpr std::string_view kLegacyPool = "weavepool";
constexpr std::string_view kIpamIdent = "_";

// ---- answers

PluginReply json_reply(std::string body) { return {200, std::move(body) + "\n"}; }
PluginReply err_reply(std::string_view message) {
  return {500, "{\"Err\":" + go_json_string(message) + "}\n"};
}
/// Go's http.Error: the message and a newline.
PluginReply bad_request(std::string_view message) { return {400, std::string(message) + "\n"}; }
PluginReply empty_reply() { return json_reply("{}"); }

std::string json_map(const StringMap& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    if (out.size() > 1) out += ',';
    out += go_json_string(k) + ":" + go_json_string(v);
  }
  return out + "}";
}

// ---- decoding like Go's json.Decoder.Decode into a struct

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view json_kind(const Json& j) {
  switch (j.type()) {
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    case Json::value_t::null: return "null";
    default: return "number";
  }
}

/// Go's quoteChar for syntax errors.
std::string go_char(char c) {
  if (c == '\'') return "'\\''";
  if (c == '"') return "'\"'";
  auto q = go_quote(std::string_view(&c, 1));
  return "'" + q.substr(1, q.size() - 2) + "'";
}

/// The first JSON value of BODY (trailing bytes are not read, as with Go's Decoder). It must be
/// an object or null (null decodes to the zero struct). Errors read like Go's.
Result<Json> decode(std::string_view body, std::string_view go_type) {
  auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Error{"EOF"};
  Json j;
  try {
    std::istringstream in{std::string(body)};
    in >> j;
  } catch (const Json::exception& e) {
    auto* pe = dynamic_cast<const Json::parse_error*>(&e);
    if (pe == nullptr || std::string_view(e.what()).find("end of input") != std::string_view::npos ||
        pe->byte == 0 || pe->byte > body.size()) {
      return Error{"unexpected EOF"};
    }
    char c = body[pe->byte - 1];
    if (pe->byte - 1 == first) {
      return make_error("invalid character {} looking for beginning of value", go_char(c));
    }
    return make_error("invalid character {} at offset {}", go_char(c), pe->byte - 1);
  }
  if (!j.is_object() && !j.is_null()) {
    return make_error("json: cannot unmarshal {} into Go value of type {}", json_kind(j), go_type);
  }
  return j;
}

/// A decoded request object: field lookup the way encoding/json matches keys to struct fields
/// (case-insensitively; with repeated keys the last wins), with Go's type errors.
class Fields {
 public:
  Fields(const Json& obj, std::string_view strct) : obj_(obj), strct_(strct) {}

  /// The member for NAME, or null when absent (null and absent both leave Go's zero value).
  const Json* get(std::string_view name) const {
    if (!obj_.is_object()) return nullptr;
    const Json* found = nullptr;
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      if (iequals(it.key(), name)) found = &it.value();
    }
    return found != nullptr && found->is_null() ? nullptr : found;
  }
  Error type_error(const Json& v, std::string_view name, std::string_view go_type) const {
    return make_error("json: cannot unmarshal {} into Go struct field {}.{} of type {}", json_kind(v), strct_,
                      name, go_type);
  }
  Result<std::string> str(std::string_view name) const {
    const Json* v = get(name);
    if (v == nullptr) return std::string();
    if (!v->is_string()) return type_error(*v, name, "string");
    return v->get<std::string>();
  }
  Result<bool> boolean(std::string_view name) const {
    const Json* v = get(name);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return type_error(*v, name, "bool");
    return v->get<bool>();
  }
  /// map[string]string: nullopt when absent or null; null values become "".
  Result<std::optional<StringMap>> str_map(std::string_view name) const {
    const Json* v = get(name);
    if (v == nullptr) return std::optional<StringMap>();
    if (!v->is_object()) return type_error(*v, name, "map[string]string");
    StringMap out;
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (it.value().is_null()) {
        out[it.key()];
      } else if (!it.value().is_string()) {
        return type_error(it.value(), name, "string");
      } else {
        out[it.key()] = it.value().get<std::string>();
      }
    }
    return std::optional<StringMap>(std::move(out));
  }
  /// An object-typed field (map[string]interface{} or a struct pointer): nullptr when absent or null.
  Result<const Json*> object(std::string_view name, std::string_view go_type) const {
    const Json* v = get(name);
    if (v == nullptr) return static_cast<const Json*>(nullptr);
    if (!v->is_object()) return type_error(*v, name, go_type);
    return v;
  }

 private:
  const Json& obj_;
  std::string_view strct_;
};

/// Weave's stringOptions: the string values of Options["com.docker.network.generic"].
StringMap generic_string_options(const Json* options) {
  StringMap out;
  if (options == nullptr) return out;
  auto it = options->find(std::string(kGenericOptions));
  if (it == options->end() || !it->is_object()) return out;
  for (auto g = it->begin(); g != it->end(); ++g) {
    if (g.value().is_string()) out[g.key()] = g.value().get<std::string>();
  }
  return out;
}

/// Go's net.ParseCIDR followed by taking the network (IPv4 only).
Result<Cidr> parse_cidr(std::string_view s) {
  auto c = Cidr::parse(s);
  if (!c) return make_error("invalid CIDR address: {}", s);
  return c->network();
}

/// "weave-<subnet>-<iprange>" -> (subnet, iprange text).
struct PoolId {
  Cidr subnet;
  std::string iprange;
};
Result<PoolId> parse_pool_id(std::string_view id) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    auto dash = id.find('-', start);
    parts.push_back(id.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  if (parts.size() != 3 || parts[0] != "weave") return make_error("Unrecognized pool ID: {}", id);
  WEFT_TRY(subnet, parse_cidr(parts[1]));
  return PoolId{subnet, std::string(parts[2])};
}

}  // namespace

// ---- free functions

Result<NetworkInfo> parse_network_options(bool ours, const StringMap& options, const Logger& log) {
  NetworkInfo n;
  n.ours = ours;
  if (!ours) return n;
  for (const auto& [key, value] : options) {
    bool* flag = key == kMulticastOption ? &n.multicast : key == kGatewayOption ? &n.gateway : nullptr;
    if (flag == nullptr) {
      log.warn("[net] setupNetworkInfo: unrecognized option: {}", key);
      continue;
    }
    if (value.empty()) {  // "--opt works.weave.multicast" means "turn it on"
      *flag = true;
      continue;
    }
    auto b = go_parse_bool(value);
    if (!b) return make_error("unrecognized value {} for option {}", go_quote(value), key);
    *flag = *b;
  }
  return n;
}

Result<VethPair> veth_pair_for(std::string_view endpoint_id) {
  auto id = endpoint_id.substr(0, kVethIdChars);
  bool ok = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
  if (!ok) return make_error("invalid endpoint ID {}", go_quote(endpoint_id));
  return VethPair{std::string(kHostVethPrefix) + std::string(id), std::string(kGuestVethPrefix) + std::string(id)};
}

// ---- Driver

Driver::Driver(DriverConfig cfg, RouterApi& router, DockerApi* docker, Links& links, Logger log)
    : cfg_(std::move(cfg)), router_(router), docker_(docker), links_(links), log_(std::move(log)) {}

std::vector<std::string> Driver::routes() const {
  std::vector<std::string> r = {"/Plugin.Activate",
                                "/NetworkDriver.GetCapabilities",
                                "/NetworkDriver.CreateNetwork",
                                "/NetworkDriver.DeleteNetwork",
                                "/NetworkDriver.CreateEndpoint",
                                "/NetworkDriver.DeleteEndpoint",
                                "/NetworkDriver.EndpointOperInfo",
                                "/NetworkDriver.Join",
                                "/NetworkDriver.Leave",
                                "/NetworkDriver.AllocateNetwork",
                                "/NetworkDriver.FreeNetwork"};
  if (cfg_.ipam) {
    for (const char* m : {"GetCapabilities", "GetDefaultAddressSpaces", "RequestPool", "ReleasePool",
                          "RequestAddress", "ReleaseAddress"}) {
      r.push_back(std::string("/IpamDriver.") + m);
    }
  }
  return r;
}

PluginReply Driver::handle(std::string_view path, std::string_view body) {
  try {
    if (path == "/Plugin.Activate") return activate();
    if (path.starts_with("/NetworkDriver.")) {
      auto m = path.substr(15);
      if (m == "GetCapabilities") return get_capabilities();
      if (m == "CreateNetwork") return create_network(body);
      if (m == "DeleteNetwork") return delete_network(body);
      if (m == "CreateEndpoint") return create_endpoint(body);
      if (m == "DeleteEndpoint") return delete_endpoint(body);
      if (m == "EndpointOperInfo") return endpoint_info(body);
      if (m == "Join") return join(body);
      if (m == "Leave") return leave(body);
      if (m == "AllocateNetwork") return allocate_network(body);
      if (m == "FreeNetwork") return free_network(body);
    } else if (cfg_.ipam && path.starts_with("/IpamDriver.")) {
      auto m = path.substr(12);
      if (m == "GetCapabilities") return ipam_capabilities();
      if (m == "GetDefaultAddressSpaces") return ipam_address_spaces();
      if (m == "RequestPool") return request_pool(body);
      if (m == "ReleasePool") return release_pool(body);
      if (m == "RequestAddress") return request_address(body);
      if (m == "ReleaseAddress") return release_address(body);
    }
    return {404, "404 page not found\n"};
  } catch (const std::exception& e) {
    // NB: nothing above should throw (bad input is a Result); this keeps a bug from killing the
    // plugin thread, as Go's net/http recovers handler panics.
    log_.error("[net] {} failed: {}", path, e.what());
    return err_reply(e.what());
  }
}

std::optional<NetworkInfo> Driver::network_for_test(std::string_view id) const {
  auto it = networks_.find(id);
  if (it == networks_.end()) return std::nullopt;
  return it->second;
}

PluginReply Driver::activate() const {
  return json_reply(cfg_.ipam ? R"({"Implements":["NetworkDriver","IpamDriver"]})"
                              : R"({"Implements":["NetworkDriver"]})");
}

PluginReply Driver::get_capabilities() const {
  log_.info("[net] GetCapabilities ");
  return json_reply(R"({"Err":"","Scope":)" + go_json_string(cfg_.scope) + R"(,"ConnectivityScope":""})");
}

PluginReply Driver::create_network(std::string_view body) {
  static constexpr std::string_view kBad = "Unable to decode JSON payload: ";
  auto j = decode(body, "api.CreateNetworkRequest");
  if (!j) return bad_request(std::string(kBad) + j.error().message);
  Fields f(*j, "CreateNetworkRequest");
  auto id = f.str("NetworkID");
  if (!id) return bad_request(std::string(kBad) + id.error().message);
  auto options = f.object("Options", "map[string]interface {}");
  if (!options) return bad_request(std::string(kBad) + options.error().message);
  log_.info("[net] CreateNetwork {}", *id);
  auto info = parse_network_options(true, generic_string_options(*options), log_);
  if (!info) {
    log_.error("[net] CreateNetwork: {}", info.error().message);
    return err_reply(info.error().message);
  }
  networks_[*id] = *info;
  return empty_reply();
}

PluginReply Driver::delete_network(std::string_view body) {
  static constexpr std::string_view kBad = "Unable to decode JSON payload: ";
  auto j = decode(body, "api.DeleteNetworkRequest");
  if (!j) return bad_request(std::string(kBad) + j.error().message);
  auto id = Fields(*j, "DeleteNetworkRequest").str("NetworkID");
  if (!id) return bad_request(std::string(kBad) + id.error().message);
  log_.info("[net] DeleteNetwork {}", *id);
  if (auto it = networks_.find(*id); it != networks_.end()) networks_.erase(it);
  return empty_reply();
}

PluginReply Driver::allocate_network(std::string_view body) {
  static constexpr std::string_view kBad = "Could not decode JSON encode payload";
  auto j = decode(body, "api.AllocateNetworkRequest");
  if (!j) return bad_request(kBad);
  Fields f(*j, "AllocateNetworkRequest");
  auto id = f.str("NetworkID");
  auto options = f.str_map("Options");
  if (!id || !options) return bad_request(kBad);
  log_.info("[net] NetworkAllocate {}", *id);
  return json_reply(R"({"Err":"","Options":)" + (*options ? json_map(**options) : std::string("null")) + "}");
}

PluginReply Driver::free_network(std::string_view body) {
  auto j = decode(body, "api.FreeNetworkRequest");
  if (!j) return bad_request("Could not decode JSON encode payload");
  auto id = Fields(*j, "FreeNetworkRequest").str("NetworkID");
  if (!id) return bad_request("Could not decode JSON encode payload");
  log_.info("[net] NetworkFree {}", *id);
  return json_reply("null");
}

PluginReply Driver::create_endpoint(std::string_view body) {
  static constexpr std::string_view kBad = "unable to decode JSON payload: ";
  auto j = decode(body, "api.CreateEndpointRequest");
  if (!j) return bad_request(std::string(kBad) + j.error().message);
  Fields f(*j, "CreateEndpointRequest");
  auto net = f.str("NetworkID");
  if (!net) return bad_request(std::string(kBad) + net.error().message);
  auto ep = f.str("EndpointID");
  if (!ep) return bad_request(std::string(kBad) + ep.error().message);
  auto iface = f.object("Interface", "api.EndpointInterface");
  if (!iface) return bad_request(std::string(kBad) + iface.error().message);
  if (*iface != nullptr) {
    Fields fi(**iface, "EndpointInterface");
    for (const char* k : {"Address", "AddressIPv6", "MacAddress"}) {
      if (auto s = fi.str(k); !s) return bad_request(std::string(kBad) + s.error().message);
    }
  }
  if (auto o = f.object("Options", "map[string]interface {}"); !o) {
    return bad_request(std::string(kBad) + o.error().message);
  }
  log_.info("[net] CreateEndpoint {}", *ep);
  if (*iface == nullptr) {
    static constexpr std::string_view kMsg = "Not supported: creating an interface from within CreateEndpoint";
    log_.error("[net] CreateEndpoint: {}", kMsg);
    return err_reply(kMsg);
  }
  auto names = veth_pair_for(*ep);
  if (!names) return err_reply(names.error().message);
  auto mac = links_.create_veth(*names);
  if (!mac) {
    log_.error("[net] JoinEndpoint: {}", mac.error().message);
    return err_reply(mac.error().message);
  }
  return json_reply(R"({"Err":"","Interface":{"Address":"","AddressIPv6":"","MacAddress":)" +
                    go_json_string(mac->str()) + "}}");
}

void Driver::delete_veths(std::string_view op, std::string_view endpoint_id) {
  auto names = veth_pair_for(endpoint_id);
  if (!names) {
    log_.warn("[net] {}: {}", op, names.error().message);
    return;
  }
  auto first = links_.delete_link(names->host);
  if (first && *first) return;
  // Names from earlier plugin versions, in case endpoints survived an upgrade.
  auto legacy = std::string(kHostVethPrefix) + std::string(endpoint_id.substr(0, kLegacyVethIdChars));
  auto second = links_.delete_link(legacy);
  if (second && *second) return;
  if (!first) {
    log_.warn("[net] {}: unable to delete veth {}: {}", op, go_quote(names->host), first.error().message);
  } else if (!second) {
    log_.warn("[net] {}: unable to delete veth {}: {}", op, go_quote(legacy), second.error().message);
  } else {
    log_.debug("[net] {}: no veth {} to delete", op, names->host);
  }
}

PluginReply Driver::delete_endpoint(std::string_view body) {
  static constexpr std::string_view kBad = "Could not decode JSON encoded payload";
  auto j = decode(body, "api.DeleteEndpointRequest");
  if (!j) return bad_request(kBad);
  Fields f(*j, "DeleteEndpointRequest");
  auto net = f.str("NetworkID");
  auto ep = f.str("EndpointID");
  if (!net || !ep) return bad_request(kBad);
  log_.info("[net] DeleteEndpoint {}", *ep);
  delete_veths("DeleteEndpoint", *ep);
  return empty_reply();
}

PluginReply Driver::endpoint_info(std::string_view body) {
  static constexpr std::string_view kBad = "Could not decode JSON encoded payload";
  auto j = decode(body, "api.EndpointInfoRequest");
  if (!j) return bad_request(kBad);
  Fields f(*j, "EndpointInfoRequest");
  auto net = f.str("NetworkID");
  auto ep = f.str("EndpointID");
  if (!net || !ep) return bad_request(kBad);
  log_.info("[net] EndpointInfo {}", *ep);
  return json_reply(R"({"Err":"","Value":{}})");
}

Result<NetworkInfo> Driver::find_network(const std::string& id) {
  if (auto it = networks_.find(id); it != networks_.end()) return it->second;
  if (id.empty()) return Error{"invalid empty network ID"};
  if (docker_ == nullptr) return make_error("no Docker API to look up network {}", id);
  WEFT_TRY(info, docker_->inspect_network(id));
  WEFT_TRY(n, parse_network_options(info.driver == cfg_.name, info.options, log_));
  networks_[id] = n;
  return n;
}

PluginReply Driver::join(std::string_view body) {
  static constexpr std::string_view kBad = "Could not decode JSON encoded payload";
  auto j = decode(body, "api.JoinRequest");
  if (!j) return bad_request(kBad);
  Fields f(*j, "JoinRequest");
  auto net = f.str("NetworkID");
  auto ep = f.str("EndpointID");
  auto sandbox = f.str("SandboxKey");
  auto options = f.object("Options", "map[string]interface {}");
  if (!net || !ep || !sandbox || !options) return bad_request(kBad);
  log_.info("[net] JoinEndpoint {}:{} to {}", *net, *ep, *sandbox);
  auto network = find_network(*net);
  if (!network) {
    auto msg = "unable to find network info: " + network.error().message;
    log_.error("[net] JoinEndpoint: {}", msg);
    return err_reply(msg);
  }
  auto names = veth_pair_for(*ep);
  if (!names) return err_reply(names.error().message);
  std::string routes = network->multicast ? R"([{"Destination":"224.0.0.0/4","RouteType":1,"NextHop":""}])" : "null";
  return json_reply(R"({"Err":"","InterfaceName":{"SrcName":)" + go_json_string(names->guest) +
                    R"(,"DstName":"","DstPrefix":"ethwe"},"Gateway":"","GatewayIPv6":"","StaticRoutes":)" + routes +
                    R"(,"DisableGatewayService":)" + (network->gateway ? "false" : "true") + "}");
}

PluginReply Driver::leave(std::string_view body) {
  static constexpr std::string_view kBad = "Could not decode JSON encoded payload";
  auto j = decode(body, "api.LeaveRequest");
  if (!j) return bad_request(kBad);
  Fields f(*j, "LeaveRequest");
  auto net = f.str("NetworkID");
  auto ep = f.str("EndpointID");
  if (!net || !ep) return bad_request(kBad);
  log_.info("[net] LeaveEndpoint {}:{}", *net, *ep);
  // weft: the veth goes now rather than at DeleteEndpoint, so a container that is removed
  // without a clean DeleteEndpoint leaves nothing behind.
  delete_veths("LeaveEndpoint", *ep);
  return empty_reply();
}

// ---- IPAM

PluginReply Driver::ipam_capabilities() const {
  return json_reply(R"({"RequiresMACAddress":false,"RequiresRequestReplay":false})");
}

PluginReply Driver::ipam_address_spaces() const {
  log_.debug("[ipam] GetDefaultAddressSpaces");
  return json_reply(R"({"Error":"","LocalDefaultAddressSpace":"weavelocal","GlobalDefaultAddressSpace":"weaveglobal"})");
}

PluginReply Driver::request_pool(std::string_view body) {
  static constexpr std::string_view kBad = "Unable to decode JSON payload: ";
  auto j = decode(body, "api.RequestPoolRequest");
  if (!j) return bad_request(std::string(kBad) + j.error().message);
  Fields f(*j, "RequestPoolRequest");
  auto space = f.str("AddressSpace");
  if (!space) return bad_request(std::string(kBad) + space.error().message);
  auto pool = f.str("Pool");
  if (!pool) return bad_request(std::string(kBad) + pool.error().message);
  auto sub = f.str("SubPool");
  if (!sub) return bad_request(std::string(kBad) + sub.error().message);
  if (auto o = f.str_map("Options"); !o) return bad_request(std::string(kBad) + o.error().message);
  if (auto v6 = f.boolean("V6"); !v6) return bad_request(std::string(kBad) + v6.error().message);
  log_.debug("[ipam] RequestPool {} {} {}", *space, *pool, *sub);

  auto subnet = pool->empty() ? router_.default_subnet() : parse_cidr(*pool);
  if (!subnet) return err_reply(subnet.error().message);
  Cidr iprange = subnet->network();
  if (!sub->empty()) {
    auto r = parse_cidr(*sub);
    if (!r) return err_reply(r.error().message);
    iprange = *r;
  }
  auto net = subnet->network().str();
  auto pool_id = "weave-" + net + "-" + iprange.str();
  return json_reply(R"({"Error":"","PoolID":)" + go_json_string(pool_id) + R"(,"Pool":)" + go_json_string(net) +
                    R"(,"Data":)" + json_map({{std::string(kGatewayData), net}}) + "}");
}

PluginReply Driver::release_pool(std::string_view body) {
  static constexpr std::string_view kBad = "Unable to decode JSON payload: ";
  auto j = decode(body, "api.ReleasePoolRequest");
  if (!j) return bad_request(std::string(kBad) + j.error().message);
  auto id = Fields(*j, "ReleasePoolRequest").str("PoolID");
  if (!id) return bad_request(std::string(kBad) + id.error().message);
  log_.debug("[ipam] ReleasePool {}", *id);
  return empty_reply();
}

PluginReply Driver::request_address(std::string_view body) {
  static constexpr std::string_view kBad = "Unable to decode JSON payload: ";
  auto j = decode(body, "api.RequestAddressRequest");
  if (!j) return bad_request(std::string(kBad) + j.error().message);
  Fields f(*j, "RequestAddressRequest");
  auto pool = f.str("PoolID");
  if (!pool) return bad_request(std::string(kBad) + pool.error().message);
  auto address = f.str("Address");
  if (!address) return bad_request(std::string(kBad) + address.error().message);
  if (auto o = f.str_map("Options"); !o) return bad_request(std::string(kBad) + o.error().message);
  log_.debug("[ipam] RequestAddress {} {}", *pool, *address);

  auto answer = [](const Cidr& c) {
    return json_reply(R"({"Error":"","Address":)" + go_json_string(c.str()) + R"(,"Data":null})");
  };
  if (*pool == kLegacyPool) {
    auto ip = router_.allocate(kIpamIdent, std::nullopt);
    if (!ip) return err_reply(ip.error().message);
    return answer(*ip);
  }
  auto id = parse_pool_id(*pool);
  if (!id) return err_reply(id.error().message);
  if (!address->empty()) {
    // NB: Weave passes an unparsable address on as "none" (Go's ParseIP gives nil) and allocates;
    // weft refuses it instead of handing out an address Docker did not ask for.
    auto ip = Ipv4::parse(*address);
    if (!ip) return err_reply(fmt::format("invalid address {}", go_quote(*address)));
    Cidr want(*ip, id->subnet.prefix());
    if (auto r = router_.claim(kIpamIdent, want); !r) return err_reply(r.error().message);
    return answer(want);
  }
  auto iprange = parse_cidr(id->iprange);
  if (!iprange) return err_reply(iprange.error().message);
  // The range is not really a subnet; the answer gets the pool's mask back.
  auto ip = router_.allocate(kIpamIdent, *iprange);
  if (!ip) return err_reply(ip.error().message);
  return answer(Cidr(ip->addr(), id->subnet.prefix()));
}

PluginReply Driver::release_address(std::string_view body) {
  static constexpr std::string_view kBad = "Unable to decode JSON payload: ";
  auto j = decode(body, "api.ReleaseAddressRequest");
  if (!j) return bad_request(std::string(kBad) + j.error().message);
  Fields f(*j, "ReleaseAddressRequest");
  auto pool = f.str("PoolID");
  if (!pool) return bad_request(std::string(kBad) + pool.error().message);
  auto address = f.str("Address");
  if (!address) return bad_request(std::string(kBad) + address.error().message);
  log_.debug("[ipam] ReleaseAddress {} {}", *pool, *address);
  auto ip = Ipv4::parse(*address);
  if (!ip) return err_reply(fmt::format("invalid address {}", go_quote(*address)));
  if (auto id = parse_pool_id(*pool); id && id->subnet.addr() == *ip) {
    return empty_reply();  // the fake gateway (network address) Docker claimed; nothing to free
  }
  if (auto r = router_.release(*ip); !r) return err_reply(r.error().message);
  return empty_reply();
}

}  // namespace weft::plugin
