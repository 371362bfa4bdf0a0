#pragma once
// DockerEvents: follows Docker's GET /events stream on a thread of its own, reconnecting with
// back-off, and calls back for container events (start, die, destroy, ...). Used by the proxy
// (attach on start) and by weaver itself (IPAM and DNS release on die/destroy, spec §6.5).
#include <atomic>
#include <condition_variable>
#include <optional>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "weft/base/logger.hpp"
#include "weft/http/client.hpp"

namespace weft::proxy_net {

struct ContainerEvent {
  std::string action;  ///< "start", "die", "destroy", ...
  std::string id;      ///< full container ID
};

/// One JSON object of the events stream → a container event (nullopt for other types or junk).
std::optional<ContainerEvent> parse_event(std::string_view line);

class DockerEvents {
 public:
  using Callback = std::function<void(const ContainerEvent&)>;
  /// `on_connected` runs each time the stream is (re)established, before events are delivered
  /// (so a caller can resynchronise, e.g. attach running containers).
  DockerEvents(http::Endpoint docker, Logger log, Callback cb, std::function<void()> on_connected = {});
  ~DockerEvents();
  DockerEvents(const DockerEvents&) = delete;
  DockerEvents& operator=(const DockerEvents&) = delete;

  void start();
  void stop();
  bool connected() const { return connected_; }

 private:
  void run();

  http::Endpoint docker_;
  Logger log_;
  Callback cb_;
  std::function<void()> on_connected_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  http::StreamingGet stream_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace weft::proxy_net
