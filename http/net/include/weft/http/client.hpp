#pragma once
// Blocking HTTP/1.1 client for weft's helpers that talk to Docker and to the router's own API from
// their own threads (the Docker API proxy, the network plugin, the Docker event watcher).
//
// Endpoints are Docker-style: "unix:///var/run/docker.sock", "/var/run/docker.sock",
// "tcp://127.0.0.1:2375", "127.0.0.1:6784" or "http://127.0.0.1:6784". Every call opens a new
// connection (as Weave's proxy does upstream) and closes it afterwards. Calls never throw.
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/base/result.hpp"

namespace weft::http {

struct Endpoint {
  enum class Kind { tcp, unix_socket };
  Kind kind = Kind::unix_socket;
  std::string host;  ///< tcp
  std::uint16_t port = 0;
  std::string path;  ///< unix

  /// Errors: `invalid endpoint "x": ...`.
  static Result<Endpoint> parse(std::string_view s);
  /// "unix:///path" or "tcp://host:port".
  std::string str() const;
  bool operator==(const Endpoint&) const = default;
};

using StreamSocket = boost::asio::generic::stream_protocol::socket;

/// Connects a socket on IO to EP (resolving a TCP host name). Errors read like Go's:
/// `dial unix /var/run/docker.sock: connect: no such file or directory`.
Result<StreamSocket> dial(boost::asio::io_context& io, const Endpoint& ep);

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Sets Content-Type (and, for form bodies, use form_body()).
  std::string content_type;
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  ///< as received, in order
  std::string body;                                          ///< de-chunked
  /// Case-insensitive header lookup; "" when absent.
  std::string header(std::string_view name) const;
};

struct ClientOptions {
  /// Budget for the whole exchange; nullopt = wait as long as it takes (IPAM allocations block
  /// until space is available, as Weave's do).
  std::optional<std::chrono::milliseconds> timeout = std::chrono::milliseconds(30'000);
  std::size_t body_limit = 64 * 1024 * 1024;
};

/// One request/response exchange on a new connection.
Result<ClientResponse> request(const Endpoint& ep, const ClientRequest& req, const ClientOptions& opt = {});

/// "a=1&b=x%20y" from pairs (application/x-www-form-urlencoded).
std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields);

/// A long-lived streamed GET (Docker's /events): calls on_data for each piece of body as it
/// arrives, until the body ends, on_data returns false, an error, or cancel() from another thread.
class StreamingGet {
 public:
  StreamingGet();
  ~StreamingGet();
  /// Blocks. Returns the status on a normal end (non-2xx bodies are still delivered).
  /// `on_header` (optional) runs once the response header is in, with the status.
  Result<int> run(const Endpoint& ep, const std::string& target,
                  const std::function<bool(std::string_view)>& on_data,
                  const std::function<void(int)>& on_header = {});
  /// Thread-safe; makes a run() in progress (or the next one) return promptly.
  void cancel();

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace weft::http
