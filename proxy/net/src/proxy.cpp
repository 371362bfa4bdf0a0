#include "weft/proxy_net/proxy.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <limits>

#include "weft/attach/linux_host.hpp"
#include "weft/datapath/linux/container_attach.hpp"
#include "weft/datapath/linux/netns.hpp"
#include "weft/http/url.hpp"

namespace weft::proxy_net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;
using proxy::Json;
using Acceptor = asio::basic_socket_acceptor<asio::generic::stream_protocol>;

namespace {

constexpr std::string_view kApi = "/v1.24";

std::string sv(beast::string_view s) { return std::string(s.data(), s.size()); }

bool is_hijack(int status, std::string_view content_type) {
  return status == 101 || content_type == "application/vnd.docker.raw-stream" ||
         content_type == "application/vnd.docker.multiplexed-stream";
}

template <class Msg>
std::string raw_header(const Msg& m) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", m.result_int(), sv(m.reason().empty() ? bhttp::obsolete_reason(m.result()) : m.reason()));
  for (const auto& f : m) out += fmt::format("{}: {}\r\n", sv(f.name_string()), sv(f.value()));
  out += "\r\n";
  return out;
}

void write_all(http::StreamSocket& s, std::string_view data, boost::system::error_code& ec) {
  asio::write(s, asio::buffer(data.data(), data.size()), ec);
}

void write_buffer(http::StreamSocket& s, beast::flat_buffer& b, boost::system::error_code& ec) {
  if (b.size() == 0) return;
  asio::write(s, b.data(), ec);
  b.consume(b.size());
}

/// Copies `from` to `to` until EOF, then half-closes `to`.
void pump(http::StreamSocket& from, http::StreamSocket& to) {
  char buf[64 * 1024];
  boost::system::error_code ec;
  while (true) {
    std::size_t n = from.read_some(asio::buffer(buf), ec);
    if (n > 0) {
      boost::system::error_code wec;
      asio::write(to, asio::buffer(buf, n), wec);
      if (wec) break;
    }
    if (ec) break;
  }
  boost::system::error_code ignore;
  to.shutdown(asio::socket_base::shutdown_send, ignore);
  from.shutdown(asio::socket_base::shutdown_receive, ignore);
}

/// Streams a message body from `in` (parser already past the header) to `out` (serializer, whose
/// header has not been written yet). Pieces are written as soon as they arrive.
template <bool isRequest>
boost::system::error_code relay(http::StreamSocket& in, beast::flat_buffer& inbuf, bhttp::parser<isRequest, bhttp::buffer_body>& p,
           http::StreamSocket& out) {
  boost::system::error_code ec;
  bhttp::serializer<isRequest, bhttp::buffer_body> sr{p.get()};
  p.get().body().data = nullptr;
  p.get().body().size = 0;
  p.get().body().more = !p.is_done();
  bhttp::write_header(out, sr, ec);
  if (ec) return ec;
  char buf[64 * 1024];
  // Each piece is handed to the serializer as it arrives; the piece with more == false is the
  // last (the serializer then finishes the message: "0\r\n\r\n" for chunked ones). Writing
  // again after that would emit a second terminator.
  while (true) {
    if (!p.is_done()) {
      p.get().body().data = buf;
      p.get().body().size = sizeof buf;
      bhttp::read_some(in, inbuf, p, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return ec;
      p.get().body().size = sizeof buf - p.get().body().size;
      // NB: a zero-length buffer would be serialized as a chunk of its own ("0\r\n\r\n").
      p.get().body().data = p.get().body().size ? buf : nullptr;
      p.get().body().more = !p.is_done();
      if (p.get().body().size == 0 && !p.is_done()) continue;
    } else {
      p.get().body().data = nullptr;
      p.get().body().size = 0;
      p.get().body().more = false;
    }
    bhttp::write(out, sr, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return ec;
    if (!p.get().body().more || sr.is_done()) break;
  }
  return {};
}

void reply_text(http::StreamSocket& s, int status, const std::string& text, bool keep_alive) {
  bhttp::response<bhttp::string_body> r{static_cast<bhttp::status>(status), 11};
  r.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  r.set("X-Content-Type-Options", "nosniff");
  r.body() = text + "\n";
  r.keep_alive(keep_alive);
  r.prepare_payload();
  boost::system::error_code ec;
  bhttp::write(s, r, ec);
}

std::optional<std::string> query_param(std::string_view target, std::string_view key) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  auto vals = http::parse_query(target.substr(q + 1));
  auto it = vals.values.find(std::string(key));
  if (it == vals.values.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

std::string path_of(std::string_view target) { return std::string(target.substr(0, target.find('?'))); }

/// A container's inspect (API 1.24): its status and, on 200, the parsed object.
struct Inspect {
  int status = 0;
  Json container;  ///< an object when status == 200
  std::string body;
};
Result<Inspect> inspect_container(const http::Endpoint& docker, const std::string& id) {
  auto r = http::request(docker, {.method = "GET", .target = fmt::format("{}/containers/{}/json", kApi, id)});
  if (!r) return r.error();
  Inspect out{r->status, Json(), r->body};
  if (r->status == 200) {
    out.container = Json::parse(r->body, nullptr, false);
    if (out.container.is_discarded() || !out.container.is_object()) {
      return make_error("inspecting container {}: bad JSON", id);
    }
  }
  return out;
}

int pid_of(const Json& container) {
  auto st = container.find("State");
  return st != container.end() && st->is_object() ? st->value("Pid", 0) : 0;
}

}  // namespace

struct Proxy::Listener {
  std::string text;  ///< for /proxyaddrs
  bool tcp = false;
  std::string path;
  asio::io_context io;
  Acceptor acceptor{io};
  std::thread thread;
};

struct Proxy::Waiter {
  bool done = false;
  std::string error;
};

Proxy::Proxy(ProxyConfig cfg, Logger log) : cfg_(std::move(cfg)), log_(std::move(log)) {}

Proxy::~Proxy() { stop(); }

std::vector<std::string> Proxy::addresses() const {
  std::vector<std::string> out;
  for (const auto& l : listeners_) {
    if (l->tcp) out.push_back(l->text);
  }
  for (const auto& l : listeners_) {
    if (!l->tcp) out.push_back(l->text);
  }
  return out;
}

Result<void> Proxy::find_weavewait_volumes() {
  auto& rw = cfg_.rewrite;
  auto r = http::request(cfg_.docker, {.method = "GET", .target = fmt::format("{}/containers/weave/json", kApi)});
  if (!r) return make_error("Docker API at {} unreachable: {}", cfg_.docker.str(), r.error().message);
  if (r->status == 200) {
    auto j = Json::parse(r->body, nullptr, false);
    if (auto m = j.find("Mounts"); !j.is_discarded() && m != j.end() && m->is_array()) {
      for (const auto& e : *m) {
        if (!e.is_object()) continue;
        std::string dst = e.value("Destination", ""), src = e.value("Source", "");
        if (dst == "/w") rw.w_path = src;
        else if (dst == "/w-noop") rw.w_noop_path = src;
        else if (dst == "/w-nomcast") rw.w_nomcast_path = src;
      }
    }
    if (!rw.w_path.empty() && !rw.w_noop_path.empty() && !rw.w_nomcast_path.empty()) {
      log_.info("proxy: weavewait volumes from container weave: {}", rw.w_path);
      return {};
    }
  }
  if (!cfg_.weavewait_dir.empty()) {
    const auto& d = cfg_.weavewait_dir;
    for (const char* sub : {"w", "w-noop", "w-nomcast"}) {
      if (!fs::exists(fs::path(d) / sub / "w")) {
        return make_error("weavewait directory {}: {}/w is missing", d, sub);
      }
    }
    rw.w_path = d + "/w";
    rw.w_noop_path = d + "/w-noop";
    rw.w_nomcast_path = d + "/w-nomcast";
    return {};
  }
  return make_error("Could not find the weavewait volumes /w, /w-noop and /w-nomcast: no container 'weave' "
                    "with them and no --weavewait-dir");
}

Result<void> Proxy::start() {
  stopping_ = false;
  if (auto found = find_weavewait_volumes(); !found) return found;
  if (cfg_.tls.enabled) {
    WEFT_TRY(t, TlsTerminator::create(cfg_.tls, log_));
    tls_ = std::move(t);
  }
  for (const auto& raw : cfg_.listen) {
    auto ep = http::Endpoint::parse(raw);
    if (!ep) return make_error("proxy: -H {}: {}", raw, ep.error().message);
    auto l = std::make_unique<Listener>();
    boost::system::error_code ec;
    if (ep->kind == http::Endpoint::Kind::unix_socket) {
      l->path = ep->path;
      l->text = "unix://" + ep->path;
      std::error_code fec;
      fs::create_directories(fs::path(ep->path).parent_path(), fec);
      fs::remove(ep->path, fec);
      asio::local::stream_protocol::endpoint uep(ep->path);
      l->acceptor.open(uep.protocol(), ec);
      if (!ec) l->acceptor.bind(uep, ec);
      if (!ec && cfg_.docker.kind == http::Endpoint::Kind::unix_socket) {
        struct stat st{};
        if (::stat(cfg_.docker.path.c_str(), &st) == 0) {
          (void)::chown(ep->path.c_str(), st.st_uid, st.st_gid);
          ::chmod(ep->path.c_str(), st.st_mode & 07777);
        }
      }
    } else {
      l->tcp = true;
      asio::ip::tcp::endpoint tep(asio::ip::make_address(ep->host == "" ? "0.0.0.0" : ep->host, ec), ep->port);
      if (ec) return make_error("proxy: -H {}: {}", raw, ec.message());
      l->acceptor.open(tep.protocol(), ec);
      if (!ec) l->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) l->acceptor.bind(tep, ec);
      l->text = fmt::format("tcp://{}:{}", ep->host, ep->port);
    }
    if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error("proxy: listen on {}: {}", raw, ec.message());
    log_.info("proxy listening on {}", l->text);
    listeners_.push_back(std::move(l));
  }
  for (auto& l : listeners_) {
    Listener* lp = l.get();
    lp->thread = std::thread([this, lp] { accept_loop(lp); });
  }
  return {};
}

void Proxy::stop() {
  if (stopping_.exchange(true)) return;
  for (auto& l : listeners_) {
    ::shutdown(l->acceptor.native_handle(), SHUT_RDWR);
  }
  for (auto& l : listeners_) {
    if (l->thread.joinable()) l->thread.join();
    boost::system::error_code ec;
    l->acceptor.close(ec);
    if (!l->path.empty()) {
      std::error_code fec;
      fs::remove(l->path, fec);
    }
  }
  std::unique_lock lock(mu_);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  for (auto& [id, ws] : waiters_) {
    for (auto& w : ws) {
      w->done = true;
      w->error = "proxy shutting down";
    }
  }
  cv_.notify_all();
  cv_.wait_for(lock, std::chrono::seconds(5), [this] { return active_threads_ == 0; });
}

void Proxy::accept_loop(Listener* l) {
  while (!stopping_) {
    asio::io_context io;
    http::StreamSocket sock(io);
    boost::system::error_code ec;
    l->acceptor.accept(sock, ec);
    if (ec) {
      if (stopping_) return;
      log_.warn("proxy: accept on {}: {}", l->text, ec.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    int fd = sock.release(ec);
    if (ec) continue;
    if (l->tcp && tls_) {
      fd = tls_->wrap(fd);  // the plain end of the TLS terminator's socketpair
      if (fd < 0) continue;
    }
    {
      std::lock_guard lock(mu_);
      ++active_threads_;
      open_fds_.insert(fd);
    }
    std::thread([this, fd] {
      asio::io_context cio;
      http::StreamSocket s(cio);
      boost::system::error_code aec;
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      s.assign(asio::generic::stream_protocol(ss.ss_family, 0), fd, aec);
      if (!aec) serve(std::move(s));
      std::lock_guard lock(mu_);
      open_fds_.erase(fd);
      --active_threads_;
      cv_.notify_all();
    }).detach();
  }
}

// ---- one client connection -----------------------------------------------------------------

struct Proxy::Conn {
  Proxy& p;
  http::StreamSocket& client;
  beast::flat_buffer cbuf;

  Result<http::ClientResponse> docker(const std::string& method, const std::string& target, std::string body = {}) {
    return http::request(p.cfg_.docker,
                         {.method = method, .target = target, .body = std::move(body),
                          .content_type = method == "GET" ? "" : "application/json"});
  }

  Result<http::StreamSocket> upstream(asio::io_context& io) {
    auto s = http::dial(io, p.cfg_.docker);
    if (!s) p.log_.warn("proxy: {}", s.error().message);
    return s;
  }

  /// Sends a complete request upstream and relays the answer. Returns whether the client
  /// connection stays usable.
  bool forward(bhttp::request<bhttp::string_body>& req) {
    asio::io_context io;
    auto up = upstream(io);
    if (!up) {
      reply_text(client, 500, "Could not connect to target", req.keep_alive());
      return req.keep_alive();
    }
    req.prepare_payload();
    boost::system::error_code ec;
    bhttp::write(*up, req, ec);
    if (ec) {
      reply_text(client, 500, "Could not connect to target", req.keep_alive());
      return req.keep_alive();
    }
    return relay_response(*up, req.keep_alive(), req.method() == bhttp::verb::head);
  }

  bool relay_response(http::StreamSocket& up, bool req_keep_alive, bool head) {
    beast::flat_buffer ubuf;
    bhttp::response_parser<bhttp::buffer_body> rp;
    rp.body_limit(std::numeric_limits<std::uint64_t>::max());  // NB: Boost 1.74 treats none as 0 for Content-Length bodies
    rp.header_limit(64 * 1024);
    if (head) rp.skip(true);
    boost::system::error_code ec;
    bhttp::read_header(up, ubuf, rp, ec);
    if (ec) {
      p.log_.warn("proxy: reading Docker's answer: {}", ec.message());
      reply_text(client, 500, "Could not connect to target", false);
      return false;
    }
    auto& res = rp.get();
    std::string ct = sv(res[bhttp::field::content_type]);
    if (is_hijack(res.result_int(), ct)) {
      hijack(up, ubuf, raw_header(res));
      return false;
    }
    bool delimited = rp.content_length().has_value() || rp.chunked() || head ||
                     res.result_int() == 204 || res.result_int() == 304 || res.result_int() < 200;
    bool keep = res.keep_alive() && req_keep_alive && delimited;
    if (auto rec = relay<false>(up, ubuf, rp, client)) {
      p.log_.debug("proxy: relaying Docker's answer: {}", rec.message());
      return false;
    }
    return keep;
  }

  void hijack(http::StreamSocket& up, beast::flat_buffer& ubuf, const std::string& header) {
    boost::system::error_code ec;
    write_all(client, header, ec);
    if (!ec) write_buffer(client, ubuf, ec);
    if (!ec) write_buffer(up, cbuf, ec);
    if (ec) return;
    std::thread back([&] { pump(up, client); });
    pump(client, up);
    back.join();
  }

  /// Reads the rest of an intercepted request (bodies are small JSON).
  std::optional<bhttp::request<bhttp::string_body>> read_full(bhttp::request_parser<bhttp::empty_body>&& hp) {
    bhttp::request_parser<bhttp::string_body> p{std::move(hp)};
    p.body_limit(16 * 1024 * 1024);
    boost::system::error_code ec;
    bhttp::read(client, cbuf, p, ec);
    if (ec) {
      reply_text(client, 400, "400 Bad Request: " + ec.message(), false);
      return std::nullopt;
    }
    return p.release();
  }

  bool pass(bhttp::request_parser<bhttp::empty_body>&& hp) {
    bool keep = hp.get().keep_alive();
    bool head = hp.get().method() == bhttp::verb::head;
    asio::io_context io;
    auto up = upstream(io);
    bhttp::request_parser<bhttp::buffer_body> p{std::move(hp)};
    p.body_limit(std::numeric_limits<std::uint64_t>::max());  // NB: Boost 1.74 treats none as 0 for Content-Length bodies
    if (!up) {
      reply_text(client, 500, "Could not connect to target", false);
      return false;
    }
    if (auto ec = relay<true>(client, cbuf, p, *up)) {
      this->p.log_.warn("proxy: relaying request to Docker: {}", ec.message());
      reply_text(client, 500, "Could not connect to target", false);
      return false;
    }
    return relay_response(*up, keep, head);
  }

  /// Inspects a container for an interceptor; answers 404/500 itself when that fails.
  std::optional<Json> inspect(const std::string& id, bool keep) {
    auto r = inspect_container(p.cfg_.docker, id);
    if (!r) {
      reply_text(client, 500, "Could not connect to target", keep);
      return std::nullopt;
    }
    if (r->status == 404) {
      reply_text(client, 404, "No such container: " + id, keep);
      return std::nullopt;
    }
    if (r->status != 200) {
      reply_text(client, 500, fmt::format("inspecting container {}: status {}: {}", id, r->status, r->body), keep);
      return std::nullopt;
    }
    return std::move(r->container);
  }

  /// Sends a complete request upstream and reads Docker's complete answer; on failure answers
  /// the client 500 itself and returns nothing.
  std::optional<bhttp::response<bhttp::string_body>> exchange(bhttp::request<bhttp::string_body>& req,
                                                               std::size_t body_limit) {
    asio::io_context io;
    auto up = upstream(io);
    boost::system::error_code ec;
    if (up) {
      req.prepare_payload();
      bhttp::write(*up, req, ec);
    }
    beast::flat_buffer ubuf;
    bhttp::response_parser<bhttp::string_body> rp;
    rp.body_limit(body_limit);
    if (up && !ec) bhttp::read(*up, ubuf, rp, ec);
    if (!up || ec) {
      reply_text(client, 500, "Could not connect to target", req.keep_alive());
      return std::nullopt;
    }
    return rp.release();
  }

  bool create(bhttp::request<bhttp::string_body>& req) {
    bool keep = req.keep_alive();
    const auto& cfg = p.cfg_.rewrite;
    auto plan_or = proxy::plan_create(req.body(), cfg.no_default_ipalloc);
    if (auto* e = std::get_if<proxy::HttpError>(&plan_or)) {
      reply_text(client, e->status, e->message, keep);
      return keep;
    }
    auto plan = std::get<proxy::CreatePlan>(plan_or);
    if (!plan.qualifies) return forward(req);
    Json image;
    if (plan.needs_image) {
      auto r = docker("GET", fmt::format("{}/images/{}/json", kApi, http::path_escape(plan.image)));
      if (!r) {
        reply_text(client, 500, "Could not connect to target", keep);
        return keep;
      }
      if (r->status == 404) {
        reply_text(client, 404, "No such image: " + plan.image, keep);
        return keep;
      }
      image = Json::parse(r->body, nullptr, false);
      if (r->status != 200 || image.is_discarded()) {
        reply_text(client, 500, fmt::format("inspecting image {}: status {}", plan.image, r->status), keep);
        return keep;
      }
    }
    std::string name = query_param(sv(req.target()), "name").value_or("");
    auto out = proxy::rewrite_create(req.body(), name, image, cfg);
    if (auto* e = std::get_if<proxy::HttpError>(&out)) {
      reply_text(client, e->status, e->message, keep);
      return keep;
    }
    req.body() = std::get<std::string>(out);
    req.set(bhttp::field::content_type, "application/json");
    return forward(req);
  }

  bool start(bhttp::request<bhttp::string_body>& req) {
    bool keep = req.keep_alive();
    std::string id = proxy::path_id(path_of(sv(req.target())));
    auto c = inspect(id, keep);
    if (!c) return keep;
    std::string full = c->value("Id", id);
    if (auto body = proxy::rewrite_start_body(req.body(), sv(req[bhttp::field::content_type]), *c, p.cfg_.rewrite)) {
      req.body() = *body;
    }
    auto w = std::make_shared<Waiter>();
    {
      std::lock_guard lock(p.mu_);
      p.waiters_[full].push_back(w);
    }
    auto unregister = [&] {
      std::lock_guard lock(p.mu_);
      auto& ws = p.waiters_[full];
      std::erase(ws, w);
      if (ws.empty()) p.waiters_.erase(full);
    };
    auto answer = exchange(req, 16 * 1024 * 1024);
    if (!answer) {
      unregister();
      return keep;
    }
    auto& res = *answer;
    if (res.result_int() / 100 == 2) {
      std::unique_lock lock(p.mu_);
      auto ready = [&] { return w->done; };
      if (p.cfg_.start_wait_limit.count() > 0) {
        if (!p.cv_.wait_for(lock, p.cfg_.start_wait_limit, ready)) {
          w->done = true;
          w->error = fmt::format("timed out after {} s waiting for the weave attach of {}", p.cfg_.start_wait_limit.count(), id);
        }
      } else {
        p.cv_.wait(lock, ready);
      }
      std::string err = w->error;
      lock.unlock();
      unregister();
      if (!err.empty()) {
        reply_text(client, 500, err, keep);
        return keep;
      }
    } else {
      unregister();
    }
    res.keep_alive(keep);
    boost::system::error_code ec;
    bhttp::write(client, res, ec);
    return keep && !ec;
  }

  bool exec_create(bhttp::request<bhttp::string_body>& req) {
    bool keep = req.keep_alive();
    std::string id = proxy::path_id(path_of(sv(req.target())));
    auto c = inspect(id, keep);
    if (!c) return keep;
    if (auto body = proxy::rewrite_exec(req.body(), *c, p.cfg_.rewrite.no_default_ipalloc)) {
      req.body() = *body;
      req.set(bhttp::field::content_type, "application/json");
    }
    return forward(req);
  }

  /// --rewrite-inspect: container inspect (200 only) and exec inspect (any status).
  bool inspect_rewrite(bhttp::request<bhttp::string_body>& req, bool exec) {
    bool keep = req.keep_alive();
    auto answer = exchange(req, 64 * 1024 * 1024);
    if (!answer) return keep;
    auto& res = *answer;
    if (exec || res.result_int() == 200) {
      auto j = Json::parse(res.body(), nullptr, false);
      Json* target = nullptr;
      if (!j.is_discarded() && j.is_object()) {
        if (!exec) target = &j;
        else if (auto it = j.find("Container"); it != j.end() && it->is_object()) target = &*it;
      }
      if (target) {
        if (int pid = pid_of(*target); pid > 0) {
          auto ns = datapath::host::Netns::open(fmt::format("/proc/{}/ns/net", pid));
          if (ns) {
            auto ifs = datapath::host::container_interfaces(*ns, p.cfg_.bridge);
            if (ifs) {
              for (const auto& i : *ifs) {
                if (i.cidrs.empty()) continue;
                proxy::set_network_settings(*target, i.mac.str(), i.cidrs.front());
                res.body() = proxy::encode(j);
                break;
              }
            }
          }
        }
      }
      res.erase(bhttp::field::transfer_encoding);
      res.prepare_payload();
    }
    res.keep_alive(keep);
    boost::system::error_code ec;
    bhttp::write(client, res, ec);
    return keep && !ec;
  }

  void run() {
    while (!p.stopping_) {
      bhttp::request_parser<bhttp::empty_body> hp;
      hp.header_limit(64 * 1024);
      hp.body_limit(std::numeric_limits<std::uint64_t>::max());  // NB: Boost 1.74 treats none as 0 for Content-Length bodies
      boost::system::error_code ec;
      bhttp::read_header(client, cbuf, hp, ec);
      if (ec) {
        if (ec != bhttp::error::end_of_stream && ec != asio::error::eof && ec != asio::error::connection_reset &&
            ec != asio::error::operation_aborted && ec != asio::error::bad_descriptor) {
          reply_text(client, 400, "400 Bad Request", false);
        }
        return;
      }
      std::string path = path_of(sv(hp.get().target()));
      auto route = proxy::classify(path);
      if (route == proxy::Route::inspect || route == proxy::Route::exec_inspect) {
        if (!p.cfg_.rewrite_inspect) route = proxy::Route::pass;
      }
      bool keep = false;
      if (route == proxy::Route::pass) {
        keep = pass(std::move(hp));
      } else {
        auto req = read_full(std::move(hp));
        if (!req) return;
        switch (route) {
          case proxy::Route::create: keep = create(*req); break;
          case proxy::Route::start: keep = start(*req); break;
          case proxy::Route::exec_create: keep = exec_create(*req); break;
          case proxy::Route::inspect: keep = inspect_rewrite(*req, false); break;
          case proxy::Route::exec_inspect: keep = inspect_rewrite(*req, true); break;
          case proxy::Route::pass: break;
        }
      }
      if (!keep) {
        boost::system::error_code ignore;
        client.shutdown(asio::socket_base::shutdown_send, ignore);
        return;
      }
    }
  }
};

void Proxy::serve(http::StreamSocket sock) {
  Conn c{*this, sock, {}};
  c.run();
}

// ---- attaching containers --------------------------------------------------------------------

std::string Proxy::attach(const std::string& id) {
  Json c;
  int pid = 0;
  for (int tries = 0;; ++tries) {
    auto r = inspect_container(cfg_.docker, id);
    if (!r) return r.error().message;
    if (r->status == 404) return "";  // gone already (e.g. --rm and a quick exit): nothing to attach
    if (r->status != 200) return fmt::format("inspecting container {}: status {}", id, r->status);
    c = std::move(r->container);
    auto st = c.find("State");
    if (st == c.end() || !st->is_object()) return "inspecting container: no State";
    pid = st->value("Pid", 0);
    if (pid > 0) break;
    if (!st->value("Running", false)) return "";  // exited already: nothing to attach
    if (tries > 150 || stopping_) return fmt::format("container {} has no pid", id);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto rq = proxy::attach_request(c, id, pid, cfg_.rewrite,
                                  {.no_rewrite_hosts = cfg_.no_rewrite_hosts, .bridge = cfg_.bridge});
  if (!rq) return rq.error().message;
  if (!rq->has_value()) return "";
  std::string full = (*rq)->ident;
  attach::LinuxAttachHost host({.netns_path = fmt::format("/proc/{}/ns/net", pid),
                                .root_path = fmt::format("/proc/{}/root", pid),
                                .router = cfg_.router_api,
                                .log = log_});
  auto out = attach::execute(attach::plan(std::move(**rq)), host);
  for (const auto& w : out.warnings) {
    if (w.step == attach::Step::hosts)
      log_.warn("proxy: could not rewrite /etc/hosts of {}", id);
    else
      log_.warn("proxy: {}", w.message);
  }
  if (out.failure) {
    if (out.failure->step == attach::Step::ipam)
      return fmt::format("for \"{}\": {}", out.failure->label, out.failure->message);
    return out.failure->message;
  }
  log_.info("proxy: attached container {} ({})", full.substr(0, 12),
            out.allocated.empty() ? "" : out.allocated.front().str());
  return "";
}

void Proxy::finish_waiters(const std::string& id, const std::string& error) {
  std::lock_guard lock(mu_);
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  for (auto& w : it->second) {
    w->done = true;
    w->error = error;
  }
  cv_.notify_all();
}

bool Proxy::spawn(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    ++active_threads_;
  }
  std::thread([this, work = std::move(work)] {
    work();
    std::lock_guard lock(mu_);
    --active_threads_;
    cv_.notify_all();
  }).detach();
  return true;
}

void Proxy::container_event(const ContainerEvent& ev) {
  if (ev.action != "start") return;
  spawn([this, id = ev.id] {
    std::string err = attach(id);
    if (!err.empty()) {
      log_.warn("proxy: attaching container {}: {}", id.substr(0, 12), err);
      bool waiting = false;
      {
        std::lock_guard lock(mu_);
        waiting = waiters_.count(id) > 0;
      }
      if (waiting) {
        (void)http::request(cfg_.docker, {.method = "POST", .target = fmt::format("{}/containers/{}/kill", kApi, id)});
      } else if (auto r = inspect_container(cfg_.docker, id); r && r->status == 200) {
        if (int pid = pid_of(r->container); pid > 0) ::kill(pid, SIGKILL);
      }
    }
    finish_waiters(id, err);
  });
}

void Proxy::attach_running() {
  auto r = http::request(cfg_.docker, {.method = "GET", .target = fmt::format("{}/containers/json", kApi)});
  if (!r || r->status != 200) return;
  auto list = Json::parse(r->body, nullptr, false);
  if (list.is_discarded() || !list.is_array()) return;
  for (const auto& c : list) {
    if (!c.is_object() || !c.contains("Id") || !c["Id"].is_string()) continue;
    bool started = spawn([this, id = c["Id"].get<std::string>()] {
      auto delay = std::chrono::milliseconds(2000);
      for (int i = 0; i < 8 && !stopping_; ++i) {
        std::string err = attach(id);
        if (err.empty()) break;
        log_.warn("proxy: attaching running container {}: {}; retrying", id.substr(0, 12), err);
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, delay, [this] { return stopping_.load(); });
        delay = std::min(delay * 3 / 2, std::chrono::milliseconds(60'000));
      }
    });
    if (!started) return;
  }
}

}  // namespace weft::proxy_net
