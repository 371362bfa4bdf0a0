#include "weft/plugin/router_http_api.hpp"

#include "weft/http/response.hpp"

namespace weft::plugin {
namespace {

/// Go's http method as net/url.Error prints it: "Put", "Post", ...
std::string go_method(std::string_view m) {
  std::string out(m);
  for (std::size_t i = 1; i < out.size(); ++i) out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

Result<Cidr> parse_answer_cidr(std::string_view body) {
  auto c = Cidr::parse(trim(body));
  if (!c) return make_error("invalid CIDR address: {}", body);
  return *c;
}

}  // namespace

Result<std::string> RouterHttpApi::call(std::string method, std::string target) {
  http::ClientRequest req;
  req.method = method;
  req.target = target;
  http::ClientOptions opt;
  opt.timeout = timeout_;
  auto r = http::request(ep_, req, opt);
  if (!r) {
    std::string base = ep_.kind == http::Endpoint::Kind::tcp ? "http://" + ep_.host + ":" + std::to_string(ep_.port)
                                                             : "http://unix";
    return make_error("{} \"{}{}\": {}", go_method(method), base, target, r.error().message);
  }
  if (r->status == 200 || r->status == 204) return std::move(r->body);
  return make_error("{} {}: {}", r->status, http::status_text(r->status), r->body);
}

Result<void> RouterHttpApi::claim(std::string_view ident, const Cidr& addr) {
  WEFT_TRY(body, call("PUT", fmt::format("/ip/{}/{}/{}", ident, addr.addr(), addr.prefix())));
  (void)body;
  return {};
}

Result<Cidr> RouterHttpApi::allocate(std::string_view ident, const std::optional<Cidr>& subnet) {
  auto target = subnet ? fmt::format("/ip/{}/{}/{}", ident, subnet->addr(), subnet->prefix())
                       : fmt::format("/ip/{}", ident);
  WEFT_TRY(body, call("POST", target));
  return parse_answer_cidr(body);
}

Result<void> RouterHttpApi::release(Ipv4 addr) {
  WEFT_TRY(body, call("DELETE", fmt::format("/ip/{}", addr)));
  (void)body;
  return {};
}

Result<void> RouterHttpApi::release_ident(std::string_view ident) {
  WEFT_TRY(body, call("DELETE", fmt::format("/ip/{}", ident)));
  (void)body;
  return {};
}

Result<void> RouterHttpApi::expose(const Cidr& cidr) {
  WEFT_TRY(body, call("POST", fmt::format("/expose/{}/{}", cidr.addr(), cidr.prefix())));
  (void)body;
  return {};
}

Result<std::vector<Cidr>> RouterHttpApi::lookup(std::string_view ident) {
  WEFT_TRY(body, call("GET", fmt::format("/ip/{}", ident)));
  std::vector<Cidr> out;
  std::string_view rest = trim(body);
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    auto word = rest.substr(0, sp);
    if (!word.empty()) {
      WEFT_TRY(c, parse_answer_cidr(word));
      out.push_back(c);
    }
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  return out;
}

Result<Cidr> RouterHttpApi::default_subnet() {
  WEFT_TRY(body, call("GET", "/ipinfo/defaultsubnet"));
  WEFT_TRY(c, parse_answer_cidr(body));
  return c.network();
}

Result<int> RouterHttpApi::status(std::chrono::milliseconds timeout) {
  http::ClientRequest req;
  req.target = "/status";
  http::ClientOptions opt;
  opt.timeout = timeout;
  WEFT_TRY(r, http::request(ep_, req, opt));
  return r.status;
}

}  // namespace weft::plugin
