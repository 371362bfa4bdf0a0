// Fuzz target: the JSON the Docker API proxy and the plugin read from clients and from Docker
// (container create/start/exec bodies, inspect answers, the events stream, plugin requests).
// Any bytes must give an answer or a clean error, never a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "weft/proxy/rewrite.hpp"
#include "weft/proxy_net/docker_events.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace weft::proxy;
  std::string in(reinterpret_cast<const char*>(data), size);
  RewriteConfig cfg;
  cfg.dns_host = "172.17.0.1";
  cfg.w_path = "/w";
  cfg.w_noop_path = "/wn";
  cfg.w_nomcast_path = "/wm";
  (void)classify(in);
  (void)path_id(in);
  (void)plan_create(in, size % 2 == 0);
  Json image = Json::parse(in, nullptr, false);
  if (image.is_discarded()) image = Json();
  (void)rewrite_create(in, in.substr(0, 20), image, cfg);
  (void)rewrite_start_body(in, "application/json", image, cfg);
  (void)rewrite_exec(in, image, false);
  if (image.is_object()) {
    (void)qualifying_specs(image, false);
    (void)has_weavewait(image);
  }
  (void)weft::proxy_net::parse_event(in);
  return 0;
}
