#include "weft/http/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

#include <limits>
#include <mutex>

#include "weft/http/url.hpp"

namespace weft::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using generic_ep = asio::generic::stream_protocol::endpoint;

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

Error err(std::string msg) { return Error{std::move(msg)}; }

}  // namespace

Result<Endpoint> Endpoint::parse(std::string_view s) {
  auto bad = [&](std::string_view why) { return err(fmt::format("invalid endpoint \"{}\": {}", s, why)); };
  std::string_view rest = s;
  Endpoint ep;
  if (rest.starts_with("unix://")) {
    rest.remove_prefix(7);
    if (rest.empty() || rest[0] != '/') return bad("unix socket path must be absolute");
    ep.kind = Kind::unix_socket;
    ep.path = std::string(rest);
    return ep;
  }
  if (!rest.empty() && rest[0] == '/') {
    ep.kind = Kind::unix_socket;
    ep.path = std::string(rest);
    return ep;
  }
  if (rest.starts_with("tcp://")) rest.remove_prefix(6);
  else if (rest.starts_with("http://")) rest.remove_prefix(7);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) return bad("missing port");
  std::string_view host = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5) return bad("invalid port");
  unsigned p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("invalid port");
    p = p * 10 + static_cast<unsigned>(c - '0');
  }
  if (p == 0 || p > 65535) return bad("invalid port");
  ep.kind = Kind::tcp;
  ep.host = host.empty() ? "127.0.0.1" : std::string(host);
  ep.port = static_cast<std::uint16_t>(p);
  return ep;
}

std::string Endpoint::str() const {
  if (kind == Kind::unix_socket) return "unix://" + path;
  if (host.find(':') != std::string::npos) return fmt::format("tcp://[{}]:{}", host, port);
  return fmt::format("tcp://{}:{}", host, port);
}

namespace {

Result<std::vector<generic_ep>> endpoints_of(asio::io_context& io, const Endpoint& ep) {
  std::vector<generic_ep> out;
  if (ep.kind == Endpoint::Kind::unix_socket) {
    out.emplace_back(asio::local::stream_protocol::endpoint(ep.path));
    return out;
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(ep.host, ec);
  if (!ec) {
    out.emplace_back(asio::ip::tcp::endpoint(addr, ep.port));
    return out;
  }
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(ep.host, std::to_string(ep.port), ec);
  if (ec) return err(fmt::format("dial tcp {}:{}: lookup {}: {}", ep.host, ep.port, ep.host, ec.message()));
  for (const auto& r : results) out.emplace_back(r.endpoint());
  if (out.empty()) return err(fmt::format("dial tcp {}:{}: no addresses", ep.host, ep.port));
  return out;
}

std::string dial_error(const Endpoint& ep, const boost::system::error_code& ec) {
  if (ep.kind == Endpoint::Kind::unix_socket) return fmt::format("dial unix {}: connect: {}", ep.path, ec.message());
  return fmt::format("dial tcp {}:{}: connect: {}", ep.host, ep.port, ec.message());
}

bhttp::verb verb_of(std::string_view m) { return bhttp::string_to_verb(boost::beast::string_view(m.data(), m.size())); }

}  // namespace

Result<StreamSocket> dial(asio::io_context& io, const Endpoint& ep) {
  WEFT_TRY(eps, endpoints_of(io, ep));
  boost::system::error_code ec;
  for (const auto& e : eps) {
    StreamSocket s(io);
    s.open(e.protocol(), ec);
    if (ec) continue;
    s.connect(e, ec);
    if (!ec) return s;
  }
  return err(dial_error(ep, ec));
}

std::string ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequal(k, name)) return v;
  }
  return "";
}

std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += query_escape(k);
    out += '=';
    out += query_escape(v);
  }
  return out;
}

Result<ClientResponse> request(const Endpoint& ep, const ClientRequest& req, const ClientOptions& opt) {
  asio::io_context io;
  WEFT_TRY(eps, endpoints_of(io, ep));
  auto verb = verb_of(req.method);
  bhttp::request<bhttp::string_body> r;
  if (verb == bhttp::verb::unknown) r.method_string(req.method);
  else r.method(verb);
  r.target(req.target);
  r.version(11);
  r.set(bhttp::field::host, ep.kind == Endpoint::Kind::tcp ? fmt::format("{}:{}", ep.host, ep.port) : "docker");
  r.set(bhttp::field::user_agent, "weft");
  for (const auto& [k, v] : req.headers) r.set(k, v);
  if (!req.content_type.empty()) r.set(bhttp::field::content_type, req.content_type);
  r.set(bhttp::field::connection, "close");
  r.body() = req.body;
  r.prepare_payload();

  StreamSocket sock(io);
  boost::beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(opt.body_limit);
  parser.header_limit(64 * 1024);
  boost::system::error_code result = asio::error::would_block;
  std::string stage = "connect";
  bool done = false;

  std::size_t next = 0;
  std::function<void()> try_connect;
  try_connect = [&]() {
    const auto& e = eps[next++];
    boost::system::error_code ec;
    sock.close(ec);
    sock.open(e.protocol(), ec);
    if (ec) {
      result = ec;
      done = true;
      return;
    }
    sock.async_connect(e, [&](const boost::system::error_code& cec) {
      if (cec) {
        if (next < eps.size()) return try_connect();
        result = cec;
        done = true;
        return;
      }
      stage = "write";
      bhttp::async_write(sock, r, [&](const boost::system::error_code& wec, std::size_t) {
        if (wec) {
          result = wec;
          done = true;
          return;
        }
        stage = "read";
        bhttp::async_read(sock, buf, parser, [&](const boost::system::error_code& rec, std::size_t) {
          result = rec;
          done = true;
        });
      });
    });
  };
  try_connect();
  if (opt.timeout) io.run_for(*opt.timeout);
  else io.run();
  if (!done) {
    boost::system::error_code ec;
    sock.close(ec);
    io.run();
    if (stage == "connect") return err(dial_error(ep, asio::error::timed_out));
    return err(fmt::format("{} {} on {}: timed out after {} ms", req.method, req.target, ep.str(),
                           opt.timeout ? opt.timeout->count() : 0));
  }
  if (result) {
    if (stage == "connect") return err(dial_error(ep, result));
    return err(fmt::format("{} {} on {}: {}: {}", req.method, req.target, ep.str(), stage, result.message()));
  }
  auto& res = parser.get();
  ClientResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  return out;
}

struct StreamingGet::Shared {
  std::mutex mu;
  bool cancelled = false;
  asio::io_context* io = nullptr;
  StreamSocket* sock = nullptr;
};

StreamingGet::StreamingGet() : shared_(std::make_shared<Shared>()) {}
StreamingGet::~StreamingGet() = default;

void StreamingGet::cancel() {
  std::lock_guard lock(shared_->mu);
  shared_->cancelled = true;
  if (shared_->io && shared_->sock) {
    auto* sock = shared_->sock;
    asio::post(*shared_->io, [sock] {
      boost::system::error_code ec;
      sock->close(ec);
    });
  }
}

Result<int> StreamingGet::run(const Endpoint& ep, const std::string& target,
                              const std::function<bool(std::string_view)>& on_data,
                              const std::function<void(int)>& on_header) {
  asio::io_context io;
  WEFT_TRY(sock, dial(io, ep));
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->cancelled) return err("cancelled");
    shared_->io = &io;
    shared_->sock = &sock;
  }
  struct Reset {
    std::shared_ptr<Shared> s;
    ~Reset() {
      std::lock_guard lock(s->mu);
      s->io = nullptr;
      s->sock = nullptr;
    }
  } reset{shared_};

  bhttp::request<bhttp::empty_body> r{bhttp::verb::get, target, 11};
  r.set(bhttp::field::host, "docker");
  r.set(bhttp::field::user_agent, "weft");
  boost::system::error_code ec;
  bhttp::write(sock, r, ec);
  if (ec) return err(fmt::format("GET {} on {}: write: {}", target, ep.str(), ec.message()));

  boost::beast::flat_buffer buf;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // NB: Boost 1.74 treats none as 0 for Content-Length bodies
  bool stopped = false;
  char chunk[16 * 1024];
  boost::system::error_code result;
  std::function<void()> read_some;
  std::function<void()> read_header = [&]() {
    bhttp::async_read_header(sock, buf, parser, [&](const boost::system::error_code& hec, std::size_t) {
      if (hec) {
        result = hec;
        return;
      }
      if (on_header) on_header(static_cast<int>(parser.get().result_int()));
      read_some();
    });
  };
  read_some = [&]() {
    if (parser.is_done()) return;
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    bhttp::async_read_some(sock, buf, parser, [&](boost::system::error_code rec, std::size_t) {
      if (rec == bhttp::error::need_buffer) rec = {};
      std::size_t got = sizeof chunk - parser.get().body().size;
      if (got > 0 && !on_data(std::string_view(chunk, got))) {
        stopped = true;
        return;
      }
      if (rec) {
        result = rec;
        return;
      }
      read_some();
    });
  };
  read_header();
  io.run();
  if (stopped || parser.is_done()) return static_cast<int>(parser.get().result_int());
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->cancelled) return err("cancelled");
  }
  if (result == boost::asio::error::eof || result == bhttp::error::end_of_stream) {
    return err(fmt::format("GET {} on {}: connection closed", target, ep.str()));
  }
  return err(fmt::format("GET {} on {}: {}", target, ep.str(), result.message()));
}

}  // namespace weft::http
