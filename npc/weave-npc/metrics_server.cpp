#include "metrics_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "weft/base/ipv4.hpp"

namespace weft::npc {

MetricsServer::~MetricsServer() { stop(); }

Result<void> MetricsServer::start(const std::string& addr, std::function<std::string()> render) {
  const auto colon = addr.rfind(':');
  if (colon == std::string::npos) return make_error("--metrics-addr {:?}: want host:port", addr);
  const std::string host = addr.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(addr.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) return make_error("--metrics-addr {:?}: bad port", addr);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  if (!host.empty()) {
    auto ip = Ipv4::parse(host == "localhost" ? "127.0.0.1" : host);
    if (!ip) return make_error("--metrics-addr {:?}: bad host", addr);
    sa.sin_addr.s_addr = htonl(ip->value());
  }
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 || ::listen(fd_, 16) < 0) {
    return make_error("--metrics-addr {}: {}", addr, std::strerror(errno));
  }
  thread_ = std::thread([this, render = std::move(render)] {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{2, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[2048];
      ssize_t n = ::recv(c, buf, sizeof buf - 1, 0);
      std::string req(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
      std::string body, status = "200 OK";
      if (req.rfind("GET /metrics", 0) == 0) {
        body = render();
      } else {
        status = "404 Not Found";
        body = "404 page not found\n";
      }
      auto resp = fmt::format("HTTP/1.1 {}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n"
                              "Connection: close\r\n\r\n{}",
                              status, body.size(), body);
      (void)::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  });
  return {};
}

void MetricsServer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace weft::npc
