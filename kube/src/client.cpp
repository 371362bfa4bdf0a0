// Client: one HTTPS exchange per call, on a private io_context driven by the calling thread.
#include "weft/kube/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>

namespace weft::kube {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Client::Shared {
  std::mutex mu;
  bool cancelled = false;
  asio::io_context* io = nullptr;
  std::function<void()> close;  ///< runs on io: closes the socket of the exchange in progress
};

Client::Client(Config config) : config_(std::move(config)), shared_(std::make_shared<Shared>()) {}
Client::~Client() = default;

void Client::cancel() {
  std::lock_guard lock(shared_->mu);
  shared_->cancelled = true;
  if (shared_->io != nullptr && shared_->close) asio::post(*shared_->io, shared_->close);
}

bool Client::cancelled() const {
  std::lock_guard lock(shared_->mu);
  return shared_->cancelled;
}

namespace {

std::string escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

ApiError transport(std::string msg) { return ApiError{ErrorKind::transport, 0, "", std::move(msg)}; }

struct Request {
  std::string method;
  std::string target;  ///< path?query
  std::string body;
  std::string content_type;
};

/// What the body consumer says after each piece.
enum class Consume { more, stop };

struct Exchange {
  int status = 0;
  bool header_done = false;
  bool complete = false;  ///< the whole body was read
  bool stopped = false;   ///< the consumer said stop
};

std::string host_header(const Config& c) {
  bool v6 = c.host.find(':') != std::string::npos;
  return v6 ? fmt::format("[{}]:{}", c.host, c.port) : fmt::format("{}:{}", c.host, c.port);
}

/// Connects, sends REQ and feeds the body to ON_BODY as it arrives (after ON_HEADER has seen the
/// status). STREAMING: the deadline is an idle timeout re-armed by every piece of body, instead
/// of a budget for the whole exchange.
ApiResult<Exchange> run_exchange(const Config& cfg, Client::Shared& shared, const Request& req,
                                 bool streaming,
                                 const std::function<Consume(int status)>& on_header,
                                 const std::function<Consume(std::string_view)>& on_body) {
  std::string token = cfg.token;
  if (!cfg.token_file.empty()) {
    std::ifstream f(cfg.token_file);
    if (!f) return transport(fmt::format("open {}: cannot read the service-account token", cfg.token_file));
    std::stringstream ss;
    ss << f.rdbuf();
    token = ss.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
      token.pop_back();
  }

  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                  ec);
  bool ca_loaded = false;
  if (!cfg.ca_file.empty()) {
    ctx.load_verify_file(cfg.ca_file, ec);
    ca_loaded = !ec;
  }
  if (!ca_loaded) ctx.set_default_verify_paths(ec);
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.set_verify_callback(ssl::host_name_verification(cfg.host));

  ssl::stream<tcp::socket> stream(io, ctx);
  // SNI only for names, as Go's TLS client does.
  auto as_ip = asio::ip::make_address(cfg.host, ec);
  bool host_is_ip = !ec;
  if (!host_is_ip) SSL_set_tlsext_host_name(stream.native_handle(), cfg.host.c_str());

  std::vector<tcp::endpoint> eps;
  if (host_is_ip) {
    eps.emplace_back(as_ip, cfg.port);
  } else {
    tcp::resolver resolver(io);
    auto rs = resolver.resolve(cfg.host, std::to_string(cfg.port), ec);
    if (ec) return transport(fmt::format("dial tcp {}: lookup {}: {}", host_header(cfg), cfg.host, ec.message()));
    for (const auto& r : rs) eps.push_back(r.endpoint());
  }

  bhttp::request<bhttp::string_body> r;
  r.method_string(req.method);
  r.target(req.target);
  r.version(11);
  r.set(bhttp::field::host, host_header(cfg));
  r.set(bhttp::field::user_agent, cfg.user_agent);
  r.set(bhttp::field::accept, "application/json, */*");
  if (!token.empty()) r.set(bhttp::field::authorization, "Bearer " + token);
  if (!req.content_type.empty()) r.set(bhttp::field::content_type, req.content_type);
  r.set(bhttp::field::connection, "close");
  r.body() = req.body;
  r.prepare_payload();

  Exchange ex;
  boost::system::error_code result;
  std::string stage = "connect";
  bool timed_out = false;
  boost::beast::flat_buffer buf;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(64 * 1024);
  std::vector<char> chunk(64 * 1024);
  asio::steady_timer timer(io);
  auto deadline = streaming ? cfg.watch_idle_timeout : cfg.timeout;

  auto close_all = [&stream] {
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
  };
  auto arm = [&] {
    timer.expires_after(deadline);
    timer.async_wait([&](const boost::system::error_code& tec) {
      if (tec) return;
      timed_out = true;
      close_all();
    });
  };
  {
    std::lock_guard lock(shared.mu);
    if (shared.cancelled) return transport("cancelled");
    shared.io = &io;
    shared.close = close_all;
  }
  struct Reset {
    Client::Shared& s;
    ~Reset() {
      std::lock_guard lock(s.mu);
      s.io = nullptr;
      s.close = nullptr;
    }
  } reset{shared};

  auto finish = [&](const boost::system::error_code& e) {
    result = e;
    timer.cancel();
  };
  std::function<void()> read_body = [&] {
    if (parser.is_done()) {
      ex.complete = true;
      return finish({});
    }
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    bhttp::async_read_some(stream, buf, parser, [&](boost::system::error_code rec, std::size_t) {
      if (rec == bhttp::error::need_buffer) rec = {};
      std::size_t got = chunk.size() - parser.get().body().size;
      if (got > 0) {
        if (streaming) arm();
        if (on_body(std::string_view(chunk.data(), got)) == Consume::stop) {
          ex.stopped = true;
          close_all();
          return finish({});
        }
      }
      if (rec) return finish(rec);
      read_body();
    });
  };
  std::size_t next_ep = 0;
  std::function<void()> connect_next = [&] {
    stream.lowest_layer().async_connect(eps[next_ep++], [&](const boost::system::error_code& cec) {
      if (cec) {
        if (next_ep < eps.size()) {
          boost::system::error_code ignored;
          stream.lowest_layer().close(ignored);
          return connect_next();
        }
        return finish(cec);
      }
      stage = "tls handshake";
      stream.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& hec) {
        if (hec) return finish(hec);
        stage = "write";
        bhttp::async_write(stream, r, [&](const boost::system::error_code& wec, std::size_t) {
          if (wec) return finish(wec);
          stage = "read";
          bhttp::async_read_header(stream, buf, parser, [&](const boost::system::error_code& rec, std::size_t) {
            if (rec) return finish(rec);
            ex.header_done = true;
            ex.status = static_cast<int>(parser.get().result_int());
            if (on_header(ex.status) == Consume::stop) {
              ex.stopped = true;
              close_all();
              return finish({});
            }
            read_body();
          });
        });
      });
    });
  };
  arm();
  connect_next();
  io.run();

  bool was_cancelled;
  {
    std::lock_guard lock(shared.mu);
    was_cancelled = shared.cancelled;
  }
  if (ex.complete || ex.stopped) return ex;
  if (was_cancelled) return transport("cancelled");
  std::string what = fmt::format("{} https://{}{}", req.method, host_header(cfg), req.target);
  if (timed_out) {
    return transport(fmt::format("{}: {}: timed out after {} ms", what, stage, deadline.count()));
  }
  if (ex.header_done && (result == asio::error::eof || result == ssl::error::stream_truncated ||
                         result == bhttp::error::partial_message)) {
    return transport(fmt::format("{}: the connection closed before the body ended", what));
  }
  return transport(fmt::format("{}: {}: {}", what, stage, result ? result.message() : "failed"));
}

/// A whole-body exchange: 2xx JSON → the value; anything else → the typed error.
ApiResult<Json> json_call(const Config& cfg, Client::Shared& shared, const Request& req) {
  std::string body;
  int status = 0;
  const std::size_t kLimit = 256 * 1024 * 1024;
  bool too_big = false;
  auto ex = run_exchange(
      cfg, shared, req, /*streaming=*/false,
      [&](int s) {
        status = s;
        return Consume::more;
      },
      [&](std::string_view piece) {
        if (body.size() + piece.size() > kLimit) {
          too_big = true;
          return Consume::stop;
        }
        body.append(piece);
        return Consume::more;
      });
  if (!ex) return ex.error();
  if (too_big) return ApiError{ErrorKind::bad_response, status, "", "response body too large"};
  if (status < 200 || status > 299) return error_from_response(status, body);
  auto j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return ApiError{ErrorKind::bad_response, status, "",
                    fmt::format("{} {}: the answer is not JSON", req.method, req.target)};
  }
  return j;
}

}  // namespace

std::string encode_query(std::vector<std::pair<std::string, std::string>> params) {
  std::stable_sort(params.begin(), params.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += escape(k);
    out += '=';
    out += escape(v);
  }
  return out;
}

ApiResult<Json> Client::get(std::string_view path) {
  return json_call(config_, *shared_, {"GET", std::string(path), "", ""});
}

ApiResult<Json> Client::list(std::string_view path, const ListOptions& opt) {
  Json items = Json::array();
  std::string cont;
  Json last;
  for (int page = 0;; ++page) {
    std::vector<std::pair<std::string, std::string>> q;
    if (opt.limit > 0) q.emplace_back("limit", std::to_string(opt.limit));
    if (!opt.label_selector.empty()) q.emplace_back("labelSelector", opt.label_selector);
    if (!opt.field_selector.empty()) q.emplace_back("fieldSelector", opt.field_selector);
    if (!cont.empty()) {
      q.emplace_back("continue", cont);
    } else if (!opt.resource_version.empty()) {
      q.emplace_back("resourceVersion", opt.resource_version);
    }
    std::string target(path);
    if (!q.empty()) target += "?" + encode_query(q);
    auto r = json_call(config_, *shared_, {"GET", target, "", ""});
    if (!r) return r.error();
    Json& j = *r;
    if (!j.is_object() || !j.contains("items") || !(j["items"].is_array() || j["items"].is_null())) {
      return ApiError{ErrorKind::bad_response, 200, "", fmt::format("GET {}: not a list", target)};
    }
    if (j["items"].is_array()) {
      for (auto& it : j["items"]) items.push_back(std::move(it));
    }
    cont.clear();
    if (j.contains("metadata") && j["metadata"].is_object()) {
      auto c = j["metadata"].find("continue");
      if (c != j["metadata"].end() && c->is_string()) cont = c->get<std::string>();
    }
    last = std::move(j);
    if (cont.empty()) break;
    if (page > 100000) return ApiError{ErrorKind::bad_response, 200, "", "list: endless continue"};
  }
  last["items"] = std::move(items);
  if (last.contains("metadata") && last["metadata"].is_object()) last["metadata"].erase("continue");
  return last;
}

ApiResult<Json> Client::create(std::string_view path, const Json& obj, std::string_view fm) {
  std::string target(path);
  if (!fm.empty()) target += "?" + encode_query({{"fieldManager", std::string(fm)}});
  return json_call(config_, *shared_, {"POST", target, obj.dump(), "application/json"});
}

ApiResult<Json> Client::update(std::string_view path, const Json& obj, std::string_view fm) {
  std::string target(path);
  if (!fm.empty()) target += "?" + encode_query({{"fieldManager", std::string(fm)}});
  return json_call(config_, *shared_, {"PUT", target, obj.dump(), "application/json"});
}

ApiResult<Json> Client::remove(std::string_view path) {
  return json_call(config_, *shared_, {"DELETE", std::string(path), "", ""});
}

ApiResult<Json> Client::patch(std::string_view path, const Json& body, std::string_view ct) {
  return json_call(config_, *shared_, {"PATCH", std::string(path), body.dump(), std::string(ct)});
}

ApiResult<std::string> Client::watch(std::string_view path, const WatchOptions& opt,
                                     const std::function<bool(const WatchEvent&)>& on_event) {
  std::vector<std::pair<std::string, std::string>> q{{"watch", "true"}};
  if (opt.allow_bookmarks) q.emplace_back("allowWatchBookmarks", "true");
  if (!opt.resource_version.empty()) q.emplace_back("resourceVersion", opt.resource_version);
  if (opt.timeout_seconds > 0) q.emplace_back("timeoutSeconds", std::to_string(opt.timeout_seconds));
  std::string target = std::string(path) + "?" + encode_query(q);

  std::string last_rv = opt.resource_version;
  LineReader lines;
  std::string error_body;
  int status = 0;
  std::optional<ApiError> failure;
  auto ex = run_exchange(
      config_, *shared_, {"GET", target, "", ""}, /*streaming=*/true,
      [&](int s) {
        status = s;
        return Consume::more;
      },
      [&](std::string_view piece) {
        if (status < 200 || status > 299) {
          if (error_body.size() < 64 * 1024) error_body.append(piece);
          return Consume::more;
        }
        if (!lines.feed(piece)) {
          failure = ApiError{ErrorKind::bad_response, status, "", "watch event too long"};
          return Consume::stop;
        }
        while (auto line = lines.next()) {
          auto ev = parse_watch_event(*line);
          if (!ev) {
            failure = ev.error();
            return Consume::stop;
          }
          if (ev->type == EventType::error) {
            failure = error_from_status(ev->object);
            return Consume::stop;
          }
          if (auto rv = ev->resource_version(); !rv.empty()) last_rv = rv;
          if (!on_event(*ev)) return Consume::stop;
        }
        return Consume::more;
      });
  if (!ex) return ex.error();
  if (status < 200 || status > 299) return error_from_response(status, error_body);
  if (failure) return *failure;
  return last_rv;
}

}  // namespace weft::kube
