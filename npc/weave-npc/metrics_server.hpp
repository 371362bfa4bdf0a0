#pragma once
// A minimal HTTP server for GET /metrics (Prometheus text), on its own thread, for --metrics-addr.
#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "weft/base/result.hpp"

namespace weft::npc {

class MetricsServer {
 public:
  ~MetricsServer();
  /// `addr` is Go-style host:port; an empty host listens on every address.
  Result<void> start(const std::string& addr, std::function<std::string()> render);
  void stop();

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace weft::npc
