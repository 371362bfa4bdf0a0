// Integration tests of HttpServer: a real server on 127.0.0.1 (port 0) and on a unix socket in a
// temp dir, driven through raw Asio client sockets. The server's io_context runs on its own thread;
// server calls are marshalled onto it (the server is single-threaded by contract).
#include "weft/http/server.hpp"
#include "weft/http/origin_guard.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

namespace weft::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using unix_proto = asio::local::stream_protocol;
using Response = bhttp::response<bhttp::string_body>;

/// The answer of GET /later, resolved by the test on the server's thread.
std::shared_ptr<Deferred> g_later;

Router test_router() {
  Router r;
  r.handle("GET", "/now-deferred", [](const HttpRequest&, const PathVars&) {
    auto d = std::make_shared<Deferred>();
    d->resolve(text_response(200, "early"));  // resolved before the server binds it
    return deferred_response(d);
  });
  r.handle("GET", "/later", [](const HttpRequest&, const PathVars&) {
    g_later = std::make_shared<Deferred>();
    return deferred_response(g_later);
  });
  r.handle("GET", "/status", [](const HttpRequest&, const PathVars&) { return text_response(200, "ready"); });
  r.handle("POST", "/connect", [](const HttpRequest& q, const PathVars&) {
    std::string out;
    if (auto it = q.form.find("peer"); it != q.form.end()) {
      for (const auto& p : it->second) out += "peer=" + p + ";";
    }
    return text_response(200, out + "replace=" + q.form_value("replace"));
  });
  r.handle("GET", "/echo/{id}", [](const HttpRequest& q, const PathVars& v) {
    return text_response(200, v.at("id") + "|" + q.query_value("x") + "|" + q.header("X-Test"));
  });
  r.handle("PUT", "/size", [](const HttpRequest& q, const PathVars&) {
    return text_response(200, std::to_string(q.body.size()));
  });
  r.handle("DELETE", "/thing", [](const HttpRequest&, const PathVars&) { return empty_response(204); });
  r.handle("GET", "/json", [](const HttpRequest&, const PathVars&) {
    auto res = json_response("{\"a\":1}");
    res.extra_headers.emplace_back("X-Extra", "yes");
    return res;
  });
  r.handle("GET", "/throw", [](const HttpRequest&, const PathVars&) -> HttpResponse {
    throw std::runtime_error("boom");
  });
  return r;
}

/// Runs an io_context on a thread with one HttpServer on it.
class ServerFixture {
 public:
  explicit ServerFixture(HttpServerLimits limits = {})
      : work_(asio::make_work_guard(io_)), server_(io_, test_router(), null_logger(), limits) {}
  ~ServerFixture() {
    if (thread_.joinable()) {
      on_io([this] { server_.stop(); });
      work_.reset();
      io_.stop();
      thread_.join();
    }
  }
  void listen(const std::string& addr) {
    auto r = server_.listen(addr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    thread_ = std::thread([this] { io_.run(); });
  }
  /// Runs f on the server's thread and waits for it.
  template <class F>
  auto on_io(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }
  HttpServer& server() { return server_; }
  std::uint16_t port() const { return server_.port(); }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  HttpServer server_;
  std::thread thread_;
};

/// Client-side helpers on a blocking socket of either protocol.
template <class Socket>
void send_raw(Socket& s, std::string_view bytes) {
  asio::write(s, asio::buffer(bytes.data(), bytes.size()));
}

template <class Socket>
Response read_response(Socket& s, beast::flat_buffer& buf) {
  Response res;
  bhttp::read(s, buf, res);
  return res;
}

/// Reads until the peer closes (or resets); returns everything received.
template <class Socket>
std::string read_to_eof(Socket& s) {
  std::string out;
  std::array<char, 4096> chunk{};
  boost::system::error_code ec;
  while (true) {
    auto n = s.read_some(asio::buffer(chunk), ec);
    out.append(chunk.data(), n);
    if (ec) break;
  }
  return out;
}

tcp::socket connect_tcp(asio::io_context& io, std::uint16_t port) {
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  return s;
}

std::string get_status_over_new_connection(std::uint16_t port) {
  asio::io_context io;
  auto s = connect_tcp(io, port);
  send_raw(s, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  beast::flat_buffer buf;
  auto res = read_response(s, buf);
  return std::to_string(res.result_int()) + " " + res.body();
}

class HttpServerTcp : public ::testing::Test {
 protected:
  void SetUp() override { fx_.listen("127.0.0.1:0"); }
  ServerFixture fx_;
  asio::io_context client_io_;
};

// Issue 18, item 5: a web page (cross-origin, or DNS-rebound to another name) could POST to the
// control API. With refuse_browser_writes the server answers 403 before any handler runs.
TEST(HttpServerBrowserGuard, RefusesWebPagesAndServesTheCli) {
  HttpServerLimits limits;
  limits.refuse_browser_writes = true;
  ServerFixture fx(limits);
  fx.listen("127.0.0.1:0");
  asio::io_context io;
  auto post = [&](const std::string& headers) {
    auto s = connect_tcp(io, fx.port());
    std::string body = "peer=10.0.0.1";
    send_raw(s, "POST /connect HTTP/1.1\r\n" + headers + "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    beast::flat_buffer buf;
    return read_response(s, buf).result_int();
  };
  EXPECT_EQ(post("Host: evil.example\r\nOrigin: http://evil.example\r\n"), 403U);
  EXPECT_EQ(post("Host: evil.example\r\n"), 403U);
  EXPECT_EQ(post("Host: 127.0.0.1:6784\r\nOrigin: http://evil.example\r\n"), 403U);
  EXPECT_EQ(post("Host: 127.0.0.1:6784\r\nOrigin: null\r\n"), 403U);
  // What curl (weave), the plugin and the proxy send.
  EXPECT_EQ(post("Host: 127.0.0.1:6784\r\n"), 200U);
  EXPECT_EQ(post("Host: localhost:6784\r\n"), 200U);
  EXPECT_EQ(post("Host: 127.0.0.1:6784\r\nOrigin: http://127.0.0.1:6784\r\n"), 200U);
  // Reads are not state-changing.
  EXPECT_EQ(get_status_over_new_connection(fx.port()), "200 ready");
}

TEST(HttpOriginGuard, Rules) {
  auto req = [](std::string method, std::map<std::string, std::string> h) {
    HttpRequest r;
    r.method = std::move(method);
    r.headers = std::move(h);
    return r;
  };
  EXPECT_FALSE(browser_request_refusal(req("POST", {{"host", "127.0.0.1:6784"}}), "127.0.0.1"));
  EXPECT_FALSE(browser_request_refusal(req("PUT", {{"host", "[::1]:6784"}}), "::1"));
  EXPECT_FALSE(browser_request_refusal(req("DELETE", {{"host", "127.0.0.5"}}), "127.0.0.1"));
  EXPECT_FALSE(browser_request_refusal(req("POST", {{"host", "10.1.2.3:6784"}}), "10.1.2.3"));
  EXPECT_FALSE(browser_request_refusal(req("POST", {{"host", "10.1.2.3:6784"}}), "::ffff:10.1.2.3"));
  EXPECT_FALSE(browser_request_refusal(req("POST", {}), "127.0.0.1"));
  EXPECT_FALSE(browser_request_refusal(req("GET", {{"host", "evil.example"}}), "127.0.0.1"));
  EXPECT_TRUE(browser_request_refusal(req("POST", {{"host", "10.1.2.3:6784"}}), "10.9.9.9"));
  EXPECT_TRUE(browser_request_refusal(req("POST", {{"host", "evil.example:6784"}}), "127.0.0.1"));
  EXPECT_TRUE(browser_request_refusal(req("POST", {{"host", "localhost.evil.example"}}), "127.0.0.1"));
  EXPECT_TRUE(browser_request_refusal(req("DELETE", {{"host", "127.0.0.1:6784"}, {"origin", "http://localhost:8080"}}), "127.0.0.1"));
  auto why = browser_request_refusal(req("POST", {{"host", "evil\r\nX: y"}}), "127.0.0.1");
  ASSERT_TRUE(why);
  EXPECT_EQ(why->find('\r'), std::string::npos);
}

TEST_F(HttpServerTcp, ExposesBoundPortAndAddress) {
  EXPECT_NE(fx_.port(), 0);
  EXPECT_EQ(fx_.on_io([&] { return fx_.server().address(); }), "127.0.0.1:" + std::to_string(fx_.port()));
}

TEST_F(HttpServerTcp, GetAnswersWithGoLikeHeaders) {
  auto s = connect_tcp(client_io_, fx_.port());
  send_raw(s, "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  beast::flat_buffer buf;
  auto res = read_response(s, buf);
  EXPECT_EQ(res.result_int(), 200U);
  EXPECT_EQ(res.body(), "ready");
  EXPECT_EQ(res[bhttp::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(res[bhttp::field::content_length], "5");
  EXPECT_FALSE(res[bhttp::field::date].empty());
  EXPECT_TRUE(res.keep_alive());
}

TEST_F(HttpServerTcp, PostUrlencodedBodyAndQuery) {
  auto s = connect_tcp(client_io_, fx_.port());
  std::string body = "peer=10.0.0.1%3A6783&peer=host+b&replace=true";
  send_raw(s, "POST /connect?peer=q HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  beast::flat_buffer buf;
  auto res = read_response(s, buf);
  EXPECT_EQ(res.result_int(), 200U);
  EXPECT_EQ(res.body(), "peer=10.0.0.1:6783;peer=host b;peer=q;replace=true");
}

TEST_F(HttpServerTcp, DeferredAnswersArriveWhenResolvedAndKeepAliveContinues) {
  auto s = connect_tcp(client_io_, fx_.port());
  beast::flat_buffer buf;
  send_raw(s, "GET /now-deferred HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(s, buf).body(), "early");
  send_raw(s, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
  // Nothing arrives until the handler's Deferred is resolved.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(s.available(), 0U);
  fx_.on_io([] {
    ASSERT_TRUE(g_later);
    g_later->resolve(text_response(201, "late"));
  });
  auto res = read_response(s, buf);
  EXPECT_EQ(res.result_int(), 201U);
  EXPECT_EQ(res.body(), "late");
  send_raw(s, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(s, buf).body(), "ready");
  fx_.on_io([] { g_later.reset(); });
}

TEST_F(HttpServerTcp, KeepAliveServesTwoRequestsOnOneConnection) {
  auto s = connect_tcp(client_io_, fx_.port());
  beast::flat_buffer buf;
  send_raw(s, "GET /echo/one?x=1 HTTP/1.1\r\nHost: x\r\nX-Test: a\r\n\r\n");
  auto r1 = read_response(s, buf);
  EXPECT_EQ(r1.body(), "one|1|a");
  send_raw(s, "GET /echo/two?x=2 HTTP/1.1\r\nHost: x\r\nX-Test: b\r\n\r\n");
  auto r2 = read_response(s, buf);
  EXPECT_EQ(r2.body(), "two|2|b");
  EXPECT_EQ(fx_.on_io([&] { return fx_.server().connection_count(); }), 1U);
}

TEST_F(HttpServerTcp, PipelinedRequestsAreAnsweredInOrder) {
  auto s = connect_tcp(client_io_, fx_.port());
  send_raw(s,
           "GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\n"
           "PUT /size HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
           "GET /echo/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  beast::flat_buffer buf;
  EXPECT_EQ(read_response(s, buf).body(), "a||");
  EXPECT_EQ(read_response(s, buf).body(), "3");
  auto last = read_response(s, buf);
  EXPECT_EQ(last.body(), "c||");
  EXPECT_FALSE(last.keep_alive());
  EXPECT_EQ(read_to_eof(s), "");
}

TEST_F(HttpServerTcp, ChunkedBodyIsAccepted) {
  auto s = connect_tcp(client_io_, fx_.port());
  send_raw(s, "PUT /size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n");
  beast::flat_buffer buf;
  EXPECT_EQ(read_response(s, buf).body(), "7");
}

TEST_F(HttpServerTcp, NotFoundAndMethodNotAllowedOverTheWire) {
  auto s = connect_tcp(client_io_, fx_.port());
  beast::flat_buffer buf;
  send_raw(s, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  auto nf = read_response(s, buf);
  EXPECT_EQ(nf.result_int(), 404U);
  EXPECT_EQ(nf.body(), "404 page not found\n");
  send_raw(s, "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  auto na = read_response(s, buf);
  EXPECT_EQ(na.result_int(), 405U);
  EXPECT_EQ(na.body(), "");
  EXPECT_EQ(na[bhttp::field::content_length], "0");
  EXPECT_EQ(na.count(bhttp::field::content_type), 0U);
}

TEST_F(HttpServerTcp, NoContentAndJsonAndExtraHeaders) {
  auto s = connect_tcp(client_io_, fx_.port());
  beast::flat_buffer buf;
  send_raw(s, "DELETE /thing HTTP/1.1\r\nHost: x\r\n\r\n");
  auto nc = read_response(s, buf);
  EXPECT_EQ(nc.result_int(), 204U);
  EXPECT_EQ(nc.count(bhttp::field::content_length), 0U);
  send_raw(s, "GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
  auto js = read_response(s, buf);
  EXPECT_EQ(js[bhttp::field::content_type], "application/json");
  EXPECT_EQ(js["X-Extra"], "yes");
  EXPECT_EQ(js.body(), "{\"a\":1}");
}

TEST_F(HttpServerTcp, HeadGetsHeadersOnly) {
  auto s = connect_tcp(client_io_, fx_.port());
  send_raw(s, "HEAD /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto raw = read_to_eof(s);
  EXPECT_EQ(raw.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0U) << raw;
  EXPECT_NE(raw.find("Content-Length: 19\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.substr(raw.size() - 4), "\r\n\r\n") << raw;  // no body bytes
}

TEST_F(HttpServerTcp, Http10ClosesUnlessKeepAliveAsked) {
  {
    auto s = connect_tcp(client_io_, fx_.port());
    send_raw(s, "GET /status HTTP/1.0\r\n\r\n");
    auto raw = read_to_eof(s);
    EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << raw;
    EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos) << raw;
  }
  auto s = connect_tcp(client_io_, fx_.port());
  beast::flat_buffer buf;
  send_raw(s, "GET /status HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = read_response(s, buf);
  EXPECT_EQ(r[bhttp::field::connection], "keep-alive");
  send_raw(s, "GET /status HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(read_response(s, buf).body(), "ready");
}

TEST_F(HttpServerTcp, ExpectContinueGets100First) {
  auto s = connect_tcp(client_io_, fx_.port());
  send_raw(s, "PUT /size HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  std::string interim(25, '\0');
  asio::read(s, asio::buffer(interim));
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  send_raw(s, "hello");
  beast::flat_buffer buf;
  EXPECT_EQ(read_response(s, buf).body(), "5");
}

TEST_F(HttpServerTcp, GarbageGets400AndCloseThenServerKeepsServing) {
  for (std::string garbage : {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
                              std::string("HELLO THERE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
                              std::string("GET /status HTTP/1.1\r\nBad Header\r\n\r\n"),
                              std::string("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
                              std::string("GET status HTTP/1.1\r\nHost: x\r\n\r\n"),
                              std::string("PUT /size HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
                              std::string("PUT /size HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")}) {
    auto s = connect_tcp(client_io_, fx_.port());
    send_raw(s, garbage);
    auto raw = read_to_eof(s);
    EXPECT_EQ(raw.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0U) << raw;
    EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos) << raw;
    EXPECT_EQ(raw.substr(raw.size() - 15), "400 Bad Request") << raw;
  }
  // Random binary noise, with and without a terminator: answered or closed, never a crash.
  std::srand(42);
  for (int round = 0; round < 20; ++round) {
    auto s = connect_tcp(client_io_, fx_.port());
    std::string noise(1 + std::rand() % 600, '\0');
    for (auto& c : noise) c = static_cast<char>(std::rand() % 256);
    send_raw(s, noise + "\r\n\r\n");
    auto raw = read_to_eof(s);
    EXPECT_TRUE(raw.empty() || raw.rfind("HTTP/1.1 4", 0) == 0) << raw;
  }
  EXPECT_EQ(get_status_over_new_connection(fx_.port()), "200 ready");
}

TEST_F(HttpServerTcp, OversizedBodyGets413ThenServerKeepsServing) {
  std::string big(2 * 1024 * 1024, 'a');
  {
    // Declared length over the limit: rejected from the header; we still send the whole body.
    auto s = connect_tcp(client_io_, fx_.port());
    send_raw(s, "PUT /size HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n");
    boost::system::error_code ec;
    asio::write(s, asio::buffer(big), ec);  // may fail once the server has closed; either is fine
    auto raw = read_to_eof(s);
    EXPECT_EQ(raw.rfind("HTTP/1.1 413 Request Entity Too Large\r\n", 0), 0U) << raw.substr(0, 200);
  }
  {
    // Chunked: the limit trips while reading the body.
    auto s = connect_tcp(client_io_, fx_.port());
    std::string req = "PUT /size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 40; ++i) req += "10000\r\n" + std::string(0x10000, 'b') + "\r\n";
    req += "0\r\n\r\n";
    boost::system::error_code ec;
    asio::write(s, asio::buffer(req), ec);
    auto raw = read_to_eof(s);
    EXPECT_EQ(raw.rfind("HTTP/1.1 413 ", 0), 0U) << raw.substr(0, 200);
  }
  {
    // Exactly at the limit is fine.
    auto s = connect_tcp(client_io_, fx_.port());
    std::string ok(1024 * 1024, 'c');
    send_raw(s, "PUT /size HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(ok.size()) + "\r\n\r\n" + ok);
    beast::flat_buffer buf;
    EXPECT_EQ(read_response(s, buf).body(), std::to_string(ok.size()));
  }
  EXPECT_EQ(get_status_over_new_connection(fx_.port()), "200 ready");
}

TEST_F(HttpServerTcp, OversizedHeaderGets431) {
  auto s = connect_tcp(client_io_, fx_.port());
  send_raw(s, "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 * 1024, 'h') + "\r\n\r\n");
  auto raw = read_to_eof(s);
  EXPECT_EQ(raw.rfind("HTTP/1.1 431 ", 0), 0U) << raw.substr(0, 200);
  EXPECT_EQ(get_status_over_new_connection(fx_.port()), "200 ready");
}

TEST_F(HttpServerTcp, HandlerExceptionGives500AndConnectionSurvives) {
  auto s = connect_tcp(client_io_, fx_.port());
  beast::flat_buffer buf;
  send_raw(s, "GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = read_response(s, buf);
  EXPECT_EQ(r.result_int(), 500U);
  send_raw(s, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(s, buf).body(), "ready");
}

TEST_F(HttpServerTcp, SecondListenerOnSamePortFailsWithGoMessage) {
  asio::io_context io;
  HttpServer other(io, Router{}, null_logger());
  std::string addr = "127.0.0.1:" + std::to_string(fx_.port());
  auto r = other.listen(addr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "listen tcp " + addr + ": bind: address already in use");
  EXPECT_EQ(other.port(), 0);
}

TEST_F(HttpServerTcp, StopClosesOpenConnectionsAndListener) {
  auto s = connect_tcp(client_io_, fx_.port());
  beast::flat_buffer buf;
  send_raw(s, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(s, buf).body(), "ready");
  auto port = fx_.port();
  fx_.on_io([&] { fx_.server().stop(); });
  EXPECT_EQ(read_to_eof(s), "");
  tcp::socket s2(client_io_);
  boost::system::error_code ec;
  s2.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(fx_.on_io([&] { return fx_.server().connection_count(); }), 0U);
  // listen() works again after stop().
  auto again = fx_.on_io([&] { return fx_.server().listen("127.0.0.1:0"); });
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(get_status_over_new_connection(fx_.on_io([&] { return fx_.server().port(); })), "200 ready");
}

TEST(HttpServerErrors, BadAddressesAreResultsNotExceptions) {
  asio::io_context io;
  HttpServer srv(io, Router{}, null_logger());
  auto r = srv.listen("127.0.0.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "listen tcp: address 127.0.0.1: missing port in address");
  auto r2 = srv.listen("192.0.2.1:0");  // TEST-NET-1, not on this host
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().message, "listen tcp 192.0.2.1:0: bind: cannot assign requested address");
  auto r3 = srv.listen("/nonexistent-dir-weft/x.sock");
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().message, "listen unix /nonexistent-dir-weft/x.sock: bind: no such file or directory");
  auto r4 = srv.listen("/" + std::string(200, 'p'));
  ASSERT_FALSE(r4.ok());
  ASSERT_TRUE(srv.listen("127.0.0.1:0").ok());
  auto r5 = srv.listen("127.0.0.1:0");
  ASSERT_FALSE(r5.ok());
  EXPECT_NE(r5.error().message.find("already listening"), std::string::npos);
}

TEST(HttpServerTimeouts, IdleConnectionIsClosedAfterReadTimeout) {
  HttpServerLimits limits;
  limits.read_timeout = std::chrono::milliseconds(200);
  ServerFixture fx(limits);
  fx.listen("127.0.0.1:0");
  asio::io_context io;
  auto t0 = std::chrono::steady_clock::now();
  auto s = connect_tcp(io, fx.port());
  send_raw(s, "GET /status HTTP/1.1\r\nHost: x\r\n");  // incomplete header, then silence
  EXPECT_EQ(read_to_eof(s), "");
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(150));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(get_status_over_new_connection(fx.port()), "200 ready");
}

class HttpServerUnix : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "weft-http-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/weave.sock";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
  std::string path_;
};

TEST_F(HttpServerUnix, ServesOverUnixSocketAndRemovesItOnStop) {
  {
    ServerFixture fx;
    fx.listen(path_);
    EXPECT_EQ(fx.port(), 0);
    EXPECT_EQ(fx.on_io([&] { return fx.server().address(); }), path_);
    asio::io_context io;
    unix_proto::socket s(io);
    s.connect(unix_proto::endpoint(path_));
    beast::flat_buffer buf;
    send_raw(s, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(read_response(s, buf).body(), "ready");
    std::string body = "peer=a&peer=b";
    send_raw(s, "POST /connect HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    EXPECT_EQ(read_response(s, buf).body(), "peer=a;peer=b;replace=");
    send_raw(s, "\x01\x02garbage\r\n\r\n");
    EXPECT_EQ(read_to_eof(s).rfind("HTTP/1.1 400 ", 0), 0U);
    // A second server must not steal a live socket.
    asio::io_context io2;
    HttpServer other(io2, Router{}, null_logger());
    auto r = other.listen(path_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "listen unix " + path_ + ": bind: address already in use");
    EXPECT_TRUE(std::filesystem::exists(path_));
  }
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(HttpServerUnix, ReplacesStaleSocketFile) {
  {
    // Leave a bound-but-closed socket file behind, as a crashed weaver would.
    asio::io_context io;
    unix_proto::acceptor stale(io, unix_proto::endpoint(path_));
  }
  ASSERT_TRUE(std::filesystem::exists(path_));
  ServerFixture fx;
  fx.listen(path_);
  asio::io_context io;
  unix_proto::socket s(io);
  s.connect(unix_proto::endpoint(path_));
  beast::flat_buffer buf;
  send_raw(s, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(s, buf).body(), "ready");
}

TEST_F(HttpServerUnix, RegularFileInTheWayIsAnError) {
  { std::ofstream(path_) << "not a socket"; }
  asio::io_context io;
  HttpServer srv(io, Router{}, null_logger());
  auto r = srv.listen(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "listen unix " + path_ + ": bind: address already in use");
  EXPECT_TRUE(std::filesystem::is_regular_file(path_));
}

}  // namespace
}  // namespace weft::http
