#include "weft/plugin/docker_http_api.hpp"

#include <nlohmann/json.hpp>

#include "weft/http/url.hpp"
#include "weft/plugin/go_json.hpp"

namespace weft::plugin {
namespace {

/// go-dockerclient's Error: the "message" of a JSON error body, else the body itself.
std::string api_message(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    if (auto it = j.find("message"); it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return body;
}

}  // namespace

Result<DockerNetwork> DockerHttpApi::inspect_network(std::string_view id) {
  http::ClientRequest req;
  req.target = "/v1.21/networks/" + http::path_escape(id);
  http::ClientOptions opt;
  opt.timeout = timeout_;
  WEFT_TRY(r, http::request(ep_, req, opt));
  if (r.status == 404) return make_error("No such network: {}", id);
  if (r.status < 200 || r.status > 299) return make_error("API error ({}): {}", r.status, api_message(r.body));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("network {}: undecodable answer from Docker", id);
  DockerNetwork out;
  if (auto d = j.find("Driver"); d != j.end() && d->is_string()) out.driver = d->get<std::string>();
  if (auto o = j.find("Options"); o != j.end() && o->is_object()) {
    for (auto it = o->begin(); it != o->end(); ++it) {
      if (it.value().is_string()) out.options[it.key()] = it.value().get<std::string>();
    }
  }
  return out;
}

Result<std::string> DockerHttpApi::create_network(const std::string& body) {
  http::ClientRequest req;
  req.method = "POST";
  req.target = "/networks/create";
  req.body = body;
  req.content_type = "application/json";
  http::ClientOptions opt;
  opt.timeout = timeout_;
  WEFT_TRY(r, http::request(ep_, req, opt));
  if (r.status < 200 || r.status > 299) return make_error("API error ({}): {}", r.status, api_message(r.body));
  return std::move(r.body);
}

std::string default_network_body(std::string_view driver_name, const Cidr& subnet) {
  auto driver = go_json_string(driver_name);
  return R"({"Name":"weave","Driver":)" + driver + R"(,"IPAM":{"Driver":)" + driver +
         R"(,"Config":[{"Subnet":)" + go_json_string(subnet.network().str()) +
         R"(}],"Options":null},"Options":{"works.weave.multicast":"true"},"Labels":null,"CheckDuplicate":true,)"
         R"("Internal":false,"EnableIPv6":false})";
}

}  // namespace weft::plugin
