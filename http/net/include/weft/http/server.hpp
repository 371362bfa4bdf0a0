#pragma once
// HttpServer: HTTP/1.1 on Boost.Beast for weaver's control and status APIs (spec §10).
//
// Single-threaded: the server runs on the caller's io_context and every member function must be
// called on that context's thread (or before it runs). Handlers run inline on that thread.
// Per connection: keep-alive (HTTP/1.1 default, HTTP/1.0 with `Connection: keep-alive`), one
// request at a time, `Expect: 100-continue` honoured. Malformed input never reaches a handler:
//   unparsable request / bad target / bad path escape -> 400 "400 Bad Request", then close
//   header block over limits.header_limit            -> 431, then close
//   body over limits.body_limit (declared or chunked)  -> 413, then close
//   nothing read for limits.read_timeout               -> close (idle keep-alive or a slow request)
//   handler throws                                     -> 500, connection kept
// After an error answer the server half-closes and drains briefly, so the client reads the answer
// instead of a TCP reset.
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "weft/base/logger.hpp"
#include "weft/base/result.hpp"
#include "weft/http/router.hpp"

namespace weft::http {

struct HttpServerLimits {
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 64 * 1024;
  /// Budget for receiving one request (from the end of the previous answer, so it is also the
  /// keep-alive idle timeout), and separately for sending one answer.
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  /// Refuse state-changing requests that come from web pages (403; see origin_guard.hpp). TCP
  /// listeners only: browsers cannot reach a unix socket.
  bool refuse_browser_writes = false;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Router router, Logger log, HttpServerLimits limits = {});
  /// Calls stop().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts accepting on `addr` (see ListenAddress: "host:port" or a unix socket path).
  /// One listener per server; weaver makes one server per --*-addr flag. A stale unix socket file
  /// (nobody accepting) is replaced; a live one is an error. Errors read like Go's, e.g.
  /// `listen tcp 127.0.0.1:6784: bind: address already in use`. Never throws.
  Result<void> listen(const std::string& addr);
  /// Closes the listener (removing a unix socket file it created) and every open connection.
  /// Idempotent; listen() may be called again afterwards.
  void stop();

  /// The bound TCP port (useful after listening on port 0); 0 when not listening on TCP.
  std::uint16_t port() const;
  /// "127.0.0.1:40123", "[::]:6784" or the unix socket path; "" when not listening.
  std::string address() const;
  /// Connections currently open (tests, /metrics).
  std::size_t connection_count() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // NB: shared with pending operations, which may outlive *this.
};

}  // namespace weft::http
