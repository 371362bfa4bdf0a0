#pragma once
// DockerHttpApi: the two Docker API calls the plugin makes, over the blocking HTTP client.
#include <chrono>

#include "weft/http/client.hpp"
#include "weft/plugin/apis.hpp"

namespace weft::plugin {

class DockerHttpApi final : public DockerApi {
 public:
  explicit DockerHttpApi(http::Endpoint ep, std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : ep_(std::move(ep)), timeout_(timeout) {}

  /// GET /v1.21/networks/<id>. Errors like Go's docker client: 404 -> `No such network: <id>`,
  /// other answers -> `API error (<status>): <message>`.
  Result<DockerNetwork> inspect_network(std::string_view id) override;

  /// POST /networks/create with BODY (application/json); the response body on 2xx.
  Result<std::string> create_network(const std::string& body);

 private:
  http::Endpoint ep_;
  std::chrono::milliseconds timeout_;
};

/// The exact body Weave posts to create its default network (spec §9 start-up step 3).
std::string default_network_body(std::string_view driver_name, const Cidr& subnet);

}  // namespace weft::plugin
