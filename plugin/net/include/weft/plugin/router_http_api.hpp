#pragma once
// RouterHttpApi: RouterApi over weaver's HTTP control API (spec §10), with the blocking client.
// Errors read like Weave's api.Client: `400 Bad Request: <body>` for an HTTP error answer, or
// `Put "http://127.0.0.1:6784/ip/_/10.32.0.5/12": <transport error>`.
#include <chrono>
#include <optional>
#include <vector>

#include "weft/http/client.hpp"
#include "weft/plugin/apis.hpp"

namespace weft::plugin {

class RouterHttpApi final : public RouterApi {
 public:
  /// TIMEOUT bounds each call (IPAM calls block until the ring has space; Docker gives up on a
  /// plugin call after a while anyway).
  explicit RouterHttpApi(http::Endpoint ep, std::chrono::milliseconds timeout = std::chrono::seconds(60))
      : ep_(std::move(ep)), timeout_(timeout) {}

  Result<void> claim(std::string_view ident, const Cidr& addr) override;
  Result<Cidr> allocate(std::string_view ident, const std::optional<Cidr>& subnet) override;
  Result<void> release(Ipv4 addr) override;
  Result<Cidr> default_subnet() override;

  /// DELETE /ip/<ident>: every address IDENT owns (the CNI plugin's release).
  Result<void> release_ident(std::string_view ident);
  /// POST /expose/<ip>/<len>: the address on the bridge and its NAT rules.
  Result<void> expose(const Cidr& cidr);
  /// GET /ip/<ident>: the addresses IDENT owns in the default subnet.
  Result<std::vector<Cidr>> lookup(std::string_view ident);

  /// GET /status; the status code (200, or 503 while the router is not ready yet).
  Result<int> status(std::chrono::milliseconds timeout);

 private:
  /// One call; 200 and 204 give the body, anything else an error.
  Result<std::string> call(std::string method, std::string target);

  http::Endpoint ep_;
  std::chrono::milliseconds timeout_;
};

}  // namespace weft::plugin
