#include "weft/http/server.hpp"
#include "weft/http/origin_guard.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <ctime>
#include <optional>
#include <unordered_map>

#include "weft/http/listen_address.hpp"

namespace weft::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using unix_proto = asio::local::stream_protocol;
using error_code = boost::system::error_code;

/// After an answer that closes the connection we read and discard for this long / this much, so the
/// peer sees our answer rather than a reset caused by its unread request bytes (Go does the same).
constexpr auto kDrainTimeout = std::chrono::seconds(2);
constexpr std::size_t kDrainLimit = 4 * 1024 * 1024;
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

/// Go prints lower-case errno texts ("address already in use").
std::string errno_text(const error_code& ec) {
  std::string m = ec.message();
  if (!m.empty()) {
    m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  }
  return m;
}

std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::array<char, 64> buf{};
  auto n = std::strftime(buf.data(), buf.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf.data(), n);
}

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

bool has_crlf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
};

}  // namespace

/// Everything sessions and pending accepts share; outlives the HttpServer if operations are pending.
struct ServerState {
  ServerState(asio::io_context& io_, Router router_, Logger log_, HttpServerLimits limits_)
      : io(io_), router(std::move(router_)), log(std::move(log_)), limits(limits_), retry_timer(io_) {}

  asio::io_context& io;
  Router router;
  Logger log;
  HttpServerLimits limits;
  std::optional<tcp::acceptor> tcp_acceptor;
  std::optional<unix_proto::acceptor> unix_acceptor;
  asio::steady_timer retry_timer;
  /// Bumped by listen() and stop(); accept completions from an older listener are ignored.
  std::uint64_t generation = 0;
  std::string bound;  ///< address() text
  std::uint16_t port = 0;
  std::string unix_path;  ///< socket file we created, removed by stop() if it is still ours
  ino_t unix_ino = 0;
  dev_t unix_dev = 0;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  LogLimiter refusal_log;
};

struct HttpServer::State : ServerState {
  using ServerState::ServerState;
};

namespace {

template <class Protocol>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Protocol>> {
 public:
  Session(std::shared_ptr<ServerState> st, typename Protocol::socket socket)
      : st_(std::move(st)), stream_(std::move(socket)) {}
  ~Session() override { st_->sessions.erase(this); }

  void start() {
    st_->sessions[this] = this->weak_from_this();
    read_header();
  }

  void close() override {
    closed_ = true;
    stream_.close();
  }

 private:
  using Stream = beast::basic_stream<Protocol>;
  using Parser = bhttp::request_parser<bhttp::string_body>;

  void read_header() {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(st_->limits.header_limit, UINT32_MAX)));
    parser_->body_limit(st_->limits.body_limit);
    // NB: one budget for the whole request, starting now: covers idle keep-alive and slow senders.
    stream_.expires_after(st_->limits.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    if (parser_->is_done()) {
      handle_request();
      return;
    }
    const auto& req = parser_->get();
    if (req.version() >= 11 && beast::iequals(req[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = this->shared_from_this()](error_code wec, std::size_t) {
                          if (wec) {
                            self->finish();
                            return;
                          }
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](error_code ec, std::size_t) {
      if (ec) {
        self->on_read_error(ec);
        return;
      }
      self->handle_request();
    });
  }

  void on_read_error(error_code ec) {
    if (ec == bhttp::error::body_limit) {
      send_error(413);
    } else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      send_error(431);
    } else if (is_http_parse_error(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      st_->log.debug("bad request: {}", ec.message());
      send_error(400);
    } else {
      // Clean close between requests, timeout, reset, or stop(): nobody to answer.
      finish();
    }
  }

  void handle_request() {
    auto& breq = parser_->get();
    std::map<std::string, std::string> headers;
    for (const auto& field : breq) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers.emplace(std::move(name), std::string(field.value()));  // NB: keeps the first, like Go's Get
    }
    const bool keep_alive = breq.keep_alive();
    const unsigned version = breq.version();
    const bool head = breq.method() == bhttp::verb::head;
    std::string method(breq.method_string());
    std::string target(breq.target());
    auto req = make_request(method, target, std::move(headers), std::move(breq.body()));
    if (!req) {
      st_->log.debug("bad request {} {}: {}", method, target, req.error().message);
      send_error(400);
      return;
    }
    HttpResponse res;
    if constexpr (std::is_same_v<Protocol, tcp>) {
      if (st_->limits.refuse_browser_writes) {
        error_code lec;
        auto lep = stream_.socket().local_endpoint(lec);
        if (auto why = browser_request_refusal(*req, lec ? std::string() : lep.address().to_string())) {
          if (std::uint64_t dropped = 0; st_->refusal_log.allow("browser", Clock::now(), &dropped)) {
            st_->log.warn("{} {}: {} ({} more suppressed)", method, log_safe(target, 128), *why, dropped);
          }
          write_response(text_response(403, *why + "\n"), version, false, head, false);
          return;
        }
      }
    }
    try {
      res = st_->router.dispatch(*req);
    } catch (const std::exception& e) {
      st_->log.error("{} {}: handler failed: {}", method, target, e.what());
      res = text_response(500, "500 Internal Server Error");
    } catch (...) {
      st_->log.error("{} {}: handler failed", method, target);
      res = text_response(500, "500 Internal Server Error");
    }
    if (res.deferred) {
      auto d = std::move(res.deferred);
      // NB: the sink keeps the session alive: no read or write is pending while it waits.
      d->bind([self = this->shared_from_this(), version, keep_alive, head](HttpResponse later) {
        if (self->closed_) return;
        self->write_response(std::move(later), version, keep_alive && !self->closed_, head, false);
      });
      return;
    }
    if (res.status < 100 || res.status > 999) {
      st_->log.error("{} {}: handler returned status {}", method, target, res.status);
      res = text_response(500, "500 Internal Server Error");
    }
    st_->log.debug("{} {} -> {}", method, target, res.status);
    write_response(std::move(res), version, keep_alive && !closed_, head, false);
  }

  void send_error(int status) {
    write_response(text_response(status, fmt::format("{} {}", status, status_text(status))), 11, false, false, true);
  }

  template <class Body>
  void fill_header(bhttp::response<Body>& msg, const HttpResponse& res, unsigned req_version, bool keep_alive) {
    msg.version(11);
    msg.result(static_cast<unsigned>(res.status));
    auto text = status_text(res.status);
    msg.reason(text.empty() ? fmt::format("status code {}", res.status) : std::string(text));
    for (const auto& [name, value] : res.extra_headers) {
      if (name.empty() || has_crlf(name) || has_crlf(value) || name.find(':') != std::string::npos) {
        st_->log.warn("dropping malformed response header '{}'", name);
        continue;
      }
      msg.insert(name, value);
    }
    msg.set(bhttp::field::date, http_date());
    if (!res.body.empty() && !res.content_type.empty() && !has_crlf(res.content_type)) {
      msg.set(bhttp::field::content_type, res.content_type);
    }
    if (!keep_alive) {
      msg.set(bhttp::field::connection, "close");
    } else if (req_version < 11) {
      msg.set(bhttp::field::connection, "keep-alive");
    }
  }

  void write_response(HttpResponse res, unsigned req_version, bool keep_alive, bool head, bool error_answer) {
    const bool bodiless = res.status < 200 || res.status == 204 || res.status == 304;
    stream_.expires_after(st_->limits.write_timeout);
    if (head || bodiless) {
      auto msg = std::make_shared<bhttp::response<bhttp::empty_body>>();
      fill_header(*msg, res, req_version, keep_alive);
      if (!bodiless) {
        msg->content_length(res.body.size());
      }
      send(std::move(msg), keep_alive, error_answer);
      return;
    }
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
    fill_header(*msg, res, req_version, keep_alive);
    msg->content_length(res.body.size());
    msg->body() = std::move(res.body);
    send(std::move(msg), keep_alive, error_answer);
  }

  template <class Msg>
  void send(std::shared_ptr<Msg> msg, bool keep_alive, bool error_answer) {
    auto& ref = *msg;
    bhttp::async_write(stream_, ref,
                       [self = this->shared_from_this(), msg = std::move(msg), keep_alive, error_answer](
                           error_code ec, std::size_t) {
                         if (ec) {
                           self->finish();
                         } else if (keep_alive && !error_answer) {
                           self->read_header();
                         } else {
                           self->linger();
                         }
                       });
  }

  /// Half-close, then discard input until EOF (or a limit) so the peer reads our answer.
  void linger() {
    if (closed_) return;
    error_code ec;
    stream_.socket().shutdown(asio::socket_base::shutdown_send, ec);
    if (ec) {
      finish();
      return;
    }
    stream_.expires_after(kDrainTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buf_), [self = this->shared_from_this()](error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kDrainLimit) {
        self->finish();
        return;
      }
      self->drain();
    });
  }

  void finish() {
    closed_ = true;
    stream_.close();
  }

  std::shared_ptr<ServerState> st_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::array<char, 4096> drain_buf_{};
  std::size_t drained_ = 0;
  bool closed_ = false;
};

template <class Protocol>
std::optional<typename Protocol::acceptor>& acceptor_of(ServerState& st);
template <>
std::optional<tcp::acceptor>& acceptor_of<tcp>(ServerState& st) {
  return st.tcp_acceptor;
}
template <>
std::optional<unix_proto::acceptor>& acceptor_of<unix_proto>(ServerState& st) {
  return st.unix_acceptor;
}

template <class Protocol>
void accept_next(const std::shared_ptr<ServerState>& st) {
  auto& acc = acceptor_of<Protocol>(*st);
  if (!acc || !acc->is_open()) return;
  acc->async_accept([st, gen = st->generation](error_code ec, typename Protocol::socket socket) {
    if (gen != st->generation || ec == asio::error::operation_aborted) {
      return;  // stopped, or a newer listener took over
    }
    if (ec) {
      // EMFILE and friends: back off instead of spinning, like Go's accept loop.
      st->log.warn("accept on {}: {}", st->bound, ec.message());
      st->retry_timer.expires_after(kAcceptRetryDelay);
      st->retry_timer.async_wait([st, gen](error_code tec) {
        if (!tec && gen == st->generation) accept_next<Protocol>(st);
      });
      return;
    }
    std::make_shared<Session<Protocol>>(st, std::move(socket))->start();
    accept_next<Protocol>(st);
  });
}

std::string format_endpoint(const tcp::endpoint& ep) {
  if (ep.address().is_v6()) {
    return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  }
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, Router router, Logger log, HttpServerLimits limits)
    : state_(std::make_shared<State>(io, std::move(router), std::move(log), limits)) {}

HttpServer::~HttpServer() { stop(); }

Result<void> HttpServer::listen(const std::string& addr) {
  auto& st = *state_;
  if (!st.bound.empty()) {
    return make_error("listen {}: already listening on {}", addr, st.bound);
  }
  auto parsed = ListenAddress::parse(addr);
  if (!parsed) {
    return make_error("listen tcp: {}", parsed.error().message);
  }
  error_code ec;
  if (parsed->kind == ListenAddress::Kind::unix_socket) {
    const std::string& path = parsed->path;
    if (path.size() >= sizeof(sockaddr_un::sun_path)) {
      return make_error("listen unix {}: bind: invalid argument", path);
    }
    struct stat sb {};
    if (::lstat(path.c_str(), &sb) == 0 && S_ISSOCK(sb.st_mode)) {
      // Replace a stale socket left by a crashed weaver, but never steal a live one.
      unix_proto::socket probe(st.io);
      probe.connect(unix_proto::endpoint(path), ec);
      if (!ec) {
        return make_error("listen unix {}: bind: address already in use", path);
      }
      if (ec == asio::error::connection_refused) {
        ::unlink(path.c_str());
      }
    }
    unix_proto::acceptor acc(st.io);
    if (acc.open(unix_proto(), ec); ec) {
      return make_error("listen unix {}: socket: {}", path, errno_text(ec));
    }
    if (acc.bind(unix_proto::endpoint(path), ec); ec) {
      return make_error("listen unix {}: bind: {}", path, errno_text(ec));
    }
    if (acc.listen(asio::socket_base::max_listen_connections, ec); ec) {
      ::unlink(path.c_str());
      return make_error("listen unix {}: listen: {}", path, errno_text(ec));
    }
    if (::lstat(path.c_str(), &sb) == 0) {
      st.unix_ino = sb.st_ino;
      st.unix_dev = sb.st_dev;
    }
    st.unix_path = path;
    st.bound = path;
    st.port = 0;
    st.unix_acceptor.emplace(std::move(acc));
    ++st.generation;
    accept_next<unix_proto>(state_);
    st.log.debug("listening on unix {}", path);
    return {};
  }

  std::vector<tcp::endpoint> candidates;
  if (parsed->host.empty()) {
    candidates = {tcp::endpoint(tcp::v6(), parsed->port), tcp::endpoint(tcp::v4(), parsed->port)};
  } else if (auto ip = asio::ip::make_address(parsed->host, ec); !ec) {
    candidates = {tcp::endpoint(ip, parsed->port)};
  } else {
    tcp::resolver resolver(st.io);
    auto results = resolver.resolve(parsed->host, std::to_string(parsed->port), ec);
    if (ec || results.empty()) {
      return make_error("listen tcp: lookup {}: {}", parsed->host, ec ? errno_text(ec) : "no such host");
    }
    // Go listens on the first address, preferring IPv4.
    for (const auto& r : results) {
      if (r.endpoint().address().is_v4()) {
        candidates.push_back(r.endpoint());
        break;
      }
    }
    if (candidates.empty()) candidates.push_back(results.begin()->endpoint());
  }
  tcp::acceptor acc(st.io);
  error_code open_ec;
  for (const auto& ep : candidates) {
    if (acc.open(ep.protocol(), open_ec); open_ec) {
      continue;  // e.g. no IPv6 in this namespace: fall back to 0.0.0.0
    }
    if (ep.address().is_v6()) {
      acc.set_option(asio::ip::v6_only(false), ec);
    }
    acc.set_option(asio::socket_base::reuse_address(true), ec);
    if (acc.bind(ep, ec); ec) {
      return make_error("listen tcp {}: bind: {}", addr, errno_text(ec));
    }
    if (acc.listen(asio::socket_base::max_listen_connections, ec); ec) {
      return make_error("listen tcp {}: listen: {}", addr, errno_text(ec));
    }
    auto local = acc.local_endpoint(ec);
    st.port = local.port();
    st.bound = format_endpoint(local);
    st.unix_path.clear();
    st.tcp_acceptor.emplace(std::move(acc));
    ++st.generation;
    accept_next<tcp>(state_);
    st.log.debug("listening on tcp {}", st.bound);
    return {};
  }
  return make_error("listen tcp {}: socket: {}", addr, errno_text(open_ec));
}

void HttpServer::stop() {
  auto& st = *state_;
  ++st.generation;
  error_code ec;
  st.retry_timer.cancel();
  if (st.tcp_acceptor) {
    st.tcp_acceptor->close(ec);
  }
  if (st.unix_acceptor) {
    st.unix_acceptor->close(ec);
  }
  if (!st.unix_path.empty()) {
    struct stat sb {};
    if (::lstat(st.unix_path.c_str(), &sb) == 0 && sb.st_ino == st.unix_ino && sb.st_dev == st.unix_dev) {
      ::unlink(st.unix_path.c_str());
    }
    st.unix_path.clear();
  }
  st.bound.clear();
  st.port = 0;
  // Copy first: closing a session may drop its last reference and erase it from the map.
  std::vector<std::shared_ptr<SessionBase>> live;
  for (auto& [ptr, weak] : st.sessions) {
    if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) {
    s->close();
  }
}

std::uint16_t HttpServer::port() const { return state_->port; }

std::string HttpServer::address() const { return state_->bound; }

std::size_t HttpServer::connection_count() const { return state_->sessions.size(); }

}  // namespace weft::http
