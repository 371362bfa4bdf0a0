#include "weft/proxy_net/docker_events.hpp"

#include <nlohmann/json.hpp>


namespace weft::proxy_net {

std::optional<ContainerEvent> parse_event(std::string_view line) {
  auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string type = str("Type");
  if (!type.empty() && type != "container") return std::nullopt;
  ContainerEvent ev;
  ev.action = str("Action");
  if (ev.action.empty()) ev.action = str("status");
  ev.id = str("id");
  if (ev.id.empty()) {
    if (auto a = j.find("Actor"); a != j.end() && a->is_object()) {
      if (auto id = a->find("ID"); id != a->end() && id->is_string()) ev.id = id->get<std::string>();
    }
  }
  if (ev.action.empty() || ev.id.empty()) return std::nullopt;
  // "exec_start: sh" and "health_status: healthy" carry details after a colon.
  if (auto colon = ev.action.find(':'); colon != std::string::npos) ev.action.resize(colon);
  return ev;
}

DockerEvents::DockerEvents(http::Endpoint docker, Logger log, Callback cb, std::function<void()> on_connected)
    : docker_(std::move(docker)), log_(std::move(log)), cb_(std::move(cb)), on_connected_(std::move(on_connected)) {}

DockerEvents::~DockerEvents() { stop(); }

void DockerEvents::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void DockerEvents::stop() {
  stopping_ = true;
  stream_.cancel();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DockerEvents::run() {
  auto backoff = std::chrono::milliseconds(500);
  while (!stopping_) {
    std::string pending;
    auto r = stream_.run(docker_, "/v1.24/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D",
                         [&](std::string_view data) {
                           pending.append(data);
                           std::size_t nl;
                           while ((nl = pending.find('\n')) != std::string::npos) {
                             std::string line = pending.substr(0, nl);
                             pending.erase(0, nl + 1);
                             if (auto ev = parse_event(line)) cb_(*ev);
                           }
                           return !stopping_.load();
                         },
                         [&](int status) {
                           if (status / 100 != 2) return;
                           connected_ = true;
                           backoff = std::chrono::milliseconds(500);
                           if (on_connected_) on_connected_();
                         });
    connected_ = false;
    if (stopping_) break;
    if (!r) log_.warn("docker events from {}: {}; reconnecting", docker_.str(), r.error().message);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, backoff, [this] { return stopping_.load(); });
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10'000));
  }
}

}  // namespace weft::proxy_net
