// Integration: the real DnsServer on 127.0.0.1 (port 0), a fake upstream on 127.0.0.2, clients
// on plain POSIX sockets. The io_context runs on its own thread; the test thread is the client.
#include "weft/dns_net/dns_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "dns_test_util.hpp"
#include "weft/dns/message.hpp"
#include "weft/dns_net/nameserver_ticker.hpp"
#include "weft/dns_net/upstream.hpp"
#include "weft/dns_net/recursion_policy.hpp"

namespace weft::dns_net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using dns::Message;
using dns::rrtype::A;

const PeerName kUs(0xaabbccddee01);

/// A reply to `query` (one uncompressed question, maybe an OPT) carrying A records.
Bytes reply_for(ByteSpan query, const std::vector<std::uint32_t>& addrs, bool tc = false) {
  std::size_t i = dns::kHeaderSize;
  while (i < query.size() && query[i] != 0) i += query[i] + 1;
  i += 5;  // root label, type, class
  Bytes out(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(std::min(i, query.size())));
  out[2] = static_cast<std::uint8_t>(0x80 | (out[2] & 0x79) | (tc ? 0x02 : 0));
  out[3] = 0x80;
  out[6] = static_cast<std::uint8_t>(addrs.size() >> 8);
  out[7] = static_cast<std::uint8_t>(addrs.size());
  out[8] = out[9] = out[10] = out[11] = 0;
  dns::test::append_a_records(out, addrs);
  return out;
}

/// The upstream resolver: answers by name. "big." names are truncated over UDP; "silent." names
/// get no answer; "wrongid." names first get a reply with a wrong ID.
class FakeUpstream {
 public:
  struct Seen {
    std::uint16_t id;
    std::string qname;
    bool tcp;
  };

  FakeUpstream(asio::io_context& io, const std::string& ip)
      : udp_(io, udp::endpoint(asio::ip::make_address(ip), 0)), acceptor_(io) {
    tcp::endpoint ep(udp_.local_endpoint().address(), udp_.local_endpoint().port());
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    receive();
    accept();
  }
  std::uint16_t port() const { return udp_.local_endpoint().port(); }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  std::optional<Bytes> answer(ByteSpan q, bool over_tcp) {
    auto m = dns::parse_message(q);
    if (!m.ok() || m->questions.empty()) return std::nullopt;
    {
      std::lock_guard<std::mutex> l(mu_);
      seen_.push_back({m->id, m->questions[0].name, over_tcp});
    }
    const auto& name = m->questions[0].name;
    if (name.find("silent.") != std::string::npos) return std::nullopt;
    if (name.find("big.") != std::string::npos) {
      if (!over_tcp) return reply_for(q, {}, true);
      return reply_for(q, std::vector<std::uint32_t>(60, 0x0a0b0c0d));
    }
    return reply_for(q, {0x01020304});
  }

  void receive() {
    udp_.async_receive_from(asio::buffer(buf_), peer_, [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec) return;
      ByteSpan q(buf_.data(), n);
      if (auto r = answer(q, false)) {
        auto m = dns::parse_message(q);
        if (m.ok() && m->questions[0].name.find("wrongid.") != std::string::npos) {
          udp_.send_to(asio::buffer(dns::with_id(*r, static_cast<std::uint16_t>(m->id + 1))), peer_);
        }
        udp_.send_to(asio::buffer(*r), peer_);
      }
      receive();
    });
  }

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec) return;
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      auto len = std::make_shared<std::array<std::uint8_t, 2>>();
      asio::async_read(*sock, asio::buffer(*len), [this, sock, len](const boost::system::error_code& e, std::size_t) {
        if (e) return;
        auto body = std::make_shared<Bytes>(((*len)[0] << 8) | (*len)[1]);
        asio::async_read(*sock, asio::buffer(*body),
                         [this, sock, body](const boost::system::error_code& e2, std::size_t) {
                           if (e2) return;
                           auto r = answer(*body, true);
                           if (!r) return;
                           auto out = std::make_shared<Bytes>();
                           out->push_back(static_cast<std::uint8_t>(r->size() >> 8));
                           out->push_back(static_cast<std::uint8_t>(r->size()));
                           out->insert(out->end(), r->begin(), r->end());
                           asio::async_write(*sock, asio::buffer(*out),
                                             [sock, out](const boost::system::error_code&, std::size_t) {});
                         });
      });
      accept();
    });
  }

  udp::socket udp_;
  tcp::acceptor acceptor_;
  std::array<std::uint8_t, 65536> buf_{};
  udp::endpoint peer_;
  std::mutex mu_;
  std::vector<Seen> seen_;
};

// ---- blocking POSIX clients

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

sockaddr_in to_sockaddr(const udp::endpoint& ep) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(ep.port());
  sa.sin_addr.s_addr = htonl(ep.address().to_v4().to_uint());
  return sa;
}

void set_timeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/// Sends `q` and waits for the reply with the same ID (skipping others).
std::optional<Bytes> udp_exchange(const udp::endpoint& server, const Bytes& q, int timeout_ms = 3000) {
  Fd s(::socket(AF_INET, SOCK_DGRAM, 0));
  auto sa = to_sockaddr(server);
  set_timeout(s.fd, timeout_ms);
  if (::sendto(s.fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return std::nullopt;
  for (;;) {
    Bytes buf(65536);
    auto n = ::recv(s.fd, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    if (buf.size() >= 2 && dns::header_id(buf) == dns::header_id(q)) return buf;
  }
}

bool read_all(int fd, std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    auto r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::optional<Bytes> tcp_exchange(const tcp::endpoint& server, const Bytes& q, int timeout_ms = 3000) {
  Fd s(::socket(AF_INET, SOCK_STREAM, 0));
  auto sa = to_sockaddr(udp::endpoint(server.address(), server.port()));
  set_timeout(s.fd, timeout_ms);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return std::nullopt;
  Bytes framed = {static_cast<std::uint8_t>(q.size() >> 8), static_cast<std::uint8_t>(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  if (::send(s.fd, framed.data(), framed.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(framed.size()))
    return std::nullopt;
  std::uint8_t len[2];
  if (!read_all(s.fd, len, 2)) return std::nullopt;
  Bytes body((len[0] << 8) | len[1]);
  if (!read_all(s.fd, body.data(), body.size())) return std::nullopt;
  return body;
}

Message parse(const std::optional<Bytes>& b) {
  EXPECT_TRUE(b.has_value());
  if (!b) return {};
  auto m = dns::parse_message(*b);
  EXPECT_TRUE(m.ok());
  return m.ok() ? *m : Message{};
}

Bytes query(std::uint16_t id, std::string_view name, std::uint16_t type = A,
            std::optional<std::uint16_t> edns = std::nullopt) {
  return dns::make_query(id, name, type, edns).value();
}

// ---- fixture

class DnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dns::NameserverConfig c;
    c.self = kUs;
    c.is_known_peer = [](PeerName) { return true; };
    c.wall_clock = dns::test::wall_of;
    ns_ = std::make_unique<dns::Nameserver>(std::move(c));
    ns_->add_entry(dns::test::at(0), "web.weave.local.", "c1", kUs, Ipv4(0x0a200001), nullptr);
    for (std::uint32_t i = 0; i < 100; ++i) {
      ns_->add_entry(dns::test::at(0), "many.weave.local.", fmt::format("m{}", i), kUs, Ipv4(0x0a210000 + i), nullptr);
    }
    upstream_ = std::make_unique<FakeUpstream>(io_, "127.0.0.2");
    silent_ = std::make_unique<udp::socket>(io_, udp::endpoint(asio::ip::make_address("127.0.0.4"), upstream_->port()));
    resolv_ = ::testing::TempDir() + "weft-dns-resolv-" + std::to_string(::getpid()) + ".conf";
  }
  void TearDown() override {
    if (server_) {
      asio::post(io_, [this] { server_->stop(); });
    }
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    std::remove(resolv_.c_str());
  }

  void write_resolv(const std::string& text) { std::ofstream(resolv_) << text; }
  /// Starts the server with `servers` (IPs, all on the fake upstream's port) in resolv.conf.
  void start(const std::string& servers, DnsServerConfig cfg = {}) {
    write_resolv(servers);
    if (cfg.listen_address == "0.0.0.0:53") cfg.listen_address = "127.0.0.1:0";
    cfg.resolv_conf = resolv_;
    cfg.upstream_port = upstream_->port();
    if (cfg.fallback_timeout == std::chrono::seconds(5)) cfg.fallback_timeout = std::chrono::milliseconds(300);
    server_ = std::make_unique<DnsServer>(io_, cfg, *ns_, rng_, null_logger());
    auto r = server_->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
    udp_ep_ = server_->udp_endpoint();
    tcp_ep_ = server_->tcp_endpoint();
    ASSERT_EQ(udp_ep_.port(), tcp_ep_.port());
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  SeededRandom rng_{5};
  std::unique_ptr<dns::Nameserver> ns_;
  std::unique_ptr<FakeUpstream> upstream_;
  std::unique_ptr<udp::socket> silent_;
  std::unique_ptr<DnsServer> server_;
  std::string resolv_;
  udp::endpoint udp_ep_;
  tcp::endpoint tcp_ep_;
};

TEST_F(DnsServerTest, AnswersLocalNamesOverUdpAndTcp) {
  start("nameserver 127.0.0.2\n");
  auto m = parse(udp_exchange(udp_ep_, query(1, "WEB.weave.local.")));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].rdata, "10.32.0.1");
  EXPECT_TRUE(m.aa);
  auto t = parse(tcp_exchange(tcp_ep_, query(2, "web.")));
  ASSERT_EQ(t.answers.size(), 1u);
  auto ptr = parse(udp_exchange(udp_ep_, query(3, "1.0.32.10.in-addr.arpa.", dns::rrtype::PTR)));
  ASSERT_EQ(ptr.answers.size(), 1u);
  EXPECT_EQ(ptr.answers[0].rdata, "web.weave.local.");
  EXPECT_EQ(parse(udp_exchange(udp_ep_, query(4, "nope.weave.local."))).rcode, 3);
  EXPECT_TRUE(upstream_->seen().empty());
  EXPECT_EQ(server_->address(), fmt::format("127.0.0.1:{}", udp_ep_.port()));
  EXPECT_EQ(server_->host(), "127.0.0.1");
}

TEST_F(DnsServerTest, OnTheAnyAddressRepliesComeFromTheAddressAsked) {
  DnsServerConfig cfg;
  cfg.listen_address = "0.0.0.0:0";
  start("nameserver 127.0.0.2\n", cfg);
  // A connected client (as resolvers use) only accepts replies from the address it asked.
  for (const char* ip : {"127.0.0.5", "127.0.0.1"}) {
    Fd s(::socket(AF_INET, SOCK_DGRAM, 0));
    auto sa = to_sockaddr(udp::endpoint(asio::ip::make_address(ip), udp_ep_.port()));
    set_timeout(s.fd, 2000);
    ASSERT_EQ(::connect(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    for (auto q : {query(21, "web.weave.local."), query(22, "fwd.example.")}) {
      ASSERT_EQ(::send(s.fd, q.data(), q.size(), 0), static_cast<ssize_t>(q.size()));
      Bytes buf(4096);
      auto n = ::recv(s.fd, buf.data(), buf.size(), 0);
      ASSERT_GT(n, 0) << ip;
      buf.resize(static_cast<std::size_t>(n));
      EXPECT_EQ(parse(buf).answers.size(), 1u) << ip;
    }
  }
  EXPECT_EQ(server_->host(), "0.0.0.0");
}

TEST_F(DnsServerTest, TruncatesOverUdpAndTcpFallbackGetsEverything) {
  start("nameserver 127.0.0.2\n");
  auto u = parse(udp_exchange(udp_ep_, query(5, "many.weave.local.")));
  EXPECT_TRUE(u.tc);
  EXPECT_EQ(u.answers.size(), 29u);
  auto t = parse(tcp_exchange(tcp_ep_, query(5, "many.weave.local.")));
  EXPECT_FALSE(t.tc);
  EXPECT_EQ(t.answers.size(), 100u);
}

TEST_F(DnsServerTest, ForwardsOtherNamesWithAFreshId) {
  start("nameserver 127.0.0.2\n");
  auto m = parse(udp_exchange(udp_ep_, query(0x5151, "www.example.com.")));
  EXPECT_EQ(m.id, 0x5151);
  EXPECT_EQ(m.rcode, 0);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].rdata, "1.2.3.4");
  auto seen = upstream_->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].qname, "www.example.com.");
  EXPECT_FALSE(seen[0].tcp);
  // A query that came over TCP goes upstream over TCP.
  auto t = parse(tcp_exchange(tcp_ep_, query(0x5252, "tcp.example.com.")));
  ASSERT_EQ(t.answers.size(), 1u);
  EXPECT_EQ(t.id, 0x5252);
  seen = upstream_->seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[1].tcp);
  // Unknown reverse addresses go upstream too.
  parse(udp_exchange(udp_ep_, query(7, "9.9.9.9.in-addr.arpa.", dns::rrtype::PTR)));
  EXPECT_EQ(upstream_->seen().size(), 3u);
}

TEST_F(DnsServerTest, SkipsDeadAndSilentServersAndIgnoresWrongIds) {
  // 127.0.0.3: nothing bound (ICMP unreachable, fails fast); 127.0.0.4: bound, never answers.
  start("nameserver 127.0.0.3\nnameserver 127.0.0.4\nnameserver 127.0.0.2\n");
  auto m = parse(udp_exchange(udp_ep_, query(9, "x.example.")));
  ASSERT_EQ(m.answers.size(), 1u);
  auto w = parse(udp_exchange(udp_ep_, query(10, "wrongid.example.")));
  ASSERT_EQ(w.answers.size(), 1u);
  EXPECT_EQ(w.id, 10);
  EXPECT_GE(server_->forwarder_stats().rejected_replies, 1u);
}

TEST_F(DnsServerTest, ServfailWhenEveryUpstreamFails) {
  start("nameserver 127.0.0.4\nnameserver 127.0.0.3\n");
  auto t0 = std::chrono::steady_clock::now();
  auto m = parse(udp_exchange(udp_ep_, query(11, "x.example.", A, 1232)));
  EXPECT_EQ(m.rcode, 2);
  EXPECT_EQ(m.id, 11);
  EXPECT_EQ(m.questions.size(), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(250));  // waited for .4
  // The silent server's own name: also SERVFAIL, with no upstream at all.
  write_resolv("");
  EXPECT_EQ(parse(tcp_exchange(tcp_ep_, query(12, "silent.example."))).rcode, 2);
}

TEST_F(DnsServerTest, TruncatedUpstreamRepliesAreRetriedOverTcpForEdnsClients) {
  start("nameserver 127.0.0.2\n");
  auto small = parse(udp_exchange(udp_ep_, query(13, "big.example.")));
  EXPECT_TRUE(small.tc);  // the client can only take 512: it gets the truncated reply
  EXPECT_TRUE(small.answers.empty());
  auto big = parse(udp_exchange(udp_ep_, query(14, "big.example.", A, 4096)));
  EXPECT_FALSE(big.tc);
  EXPECT_EQ(big.answers.size(), 60u);
  auto seen = upstream_->seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(seen[2].tcp);
  EXPECT_NE(seen[1].id, seen[2].id);
}

TEST_F(DnsServerTest, SurvivesAFloodOfGarbage) {
  start("nameserver 127.0.0.2\n");
  Fd s(::socket(AF_INET, SOCK_DGRAM, 0));
  auto sa = to_sockaddr(udp_ep_);
  SeededRandom rng(1234);
  auto valid = query(1, "web.weave.local.");
  for (int i = 0; i < 10000; ++i) {
    Bytes g;
    if (i % 3 == 0) {
      g = valid;
      for (int k = 0; k < 3; ++k) g[rng.uniform(g.size())] = static_cast<std::uint8_t>(rng.next_u64());
    } else {
      g.resize(rng.uniform(600));
      for (auto& b : g) b = static_cast<std::uint8_t>(rng.next_u64());
    }
    ::sendto(s.fd, g.data(), g.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  // TCP garbage too: a bogus length, a bogus body, a connection that says nothing.
  for (Bytes junk : {Bytes{0, 0}, Bytes{0, 20, 1, 2, 3}, Bytes{0, 13, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63}}) {
    Fd t(::socket(AF_INET, SOCK_STREAM, 0));
    auto ta = to_sockaddr(udp_ep_);
    ASSERT_EQ(::connect(t.fd, reinterpret_cast<sockaddr*>(&ta), sizeof ta), 0);
    ::send(t.fd, junk.data(), junk.size(), MSG_NOSIGNAL);
  }
  // Like a resolver, retry: while the flood is being worked off, the kernel may drop a datagram
  // that finds the socket buffer full.
  std::optional<Bytes> reply;
  for (int attempt = 0; attempt < 10 && !reply; ++attempt)
    reply = udp_exchange(udp_ep_, query(0x7777, "web.weave.local."), 1000);
  auto m = parse(reply);
  ASSERT_EQ(m.answers.size(), 1u);
  auto t = parse(tcp_exchange(tcp_ep_, query(0x7778, "web.weave.local."), 5000));
  ASSERT_EQ(t.answers.size(), 1u);
  EXPECT_GT(server_->stats().udp_queries, 1000u);  // the kernel drops some while the buffer is full
}

TEST_F(DnsServerTest, TcpConnectionsAreCapped) {
  DnsServerConfig cfg;
  cfg.max_tcp_connections = 2;
  start("nameserver 127.0.0.2\n", cfg);
  std::vector<std::unique_ptr<Fd>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<Fd>(::socket(AF_INET, SOCK_STREAM, 0)));
    auto ta = to_sockaddr(udp_ep_);
    ASSERT_EQ(::connect(held.back()->fd, reinterpret_cast<sockaddr*>(&ta), sizeof ta), 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(tcp_exchange(tcp_ep_, query(1, "web."), 1000).has_value());  // closed at the cap
  held.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(tcp_exchange(tcp_ep_, query(2, "web.")).has_value());
}

// Issue 18, item 6: weaveDNS on 0.0.0.0:53 forwarded any name for any host (an open resolver).
TEST_F(DnsServerTest, RecursionOnlyForAllowedSources) {
  DnsServerConfig cfg;
  cfg.listen_address = "0.0.0.0:0";
  cfg.allow_recursion = [](const asio::ip::address& a) { return a == asio::ip::make_address("127.0.0.1"); };
  start("nameserver 127.0.0.2\n", cfg);
  auto from = [&](const char* src, const Bytes& q) -> std::optional<Bytes> {
    Fd s(::socket(AF_INET, SOCK_DGRAM, 0));
    auto la = to_sockaddr(udp::endpoint(asio::ip::make_address(src), 0));
    if (::bind(s.fd, reinterpret_cast<sockaddr*>(&la), sizeof la) != 0) return std::nullopt;
    set_timeout(s.fd, 2000);
    auto sa = to_sockaddr(udp::endpoint(asio::ip::make_address("127.0.0.1"), udp_ep_.port()));
    ::sendto(s.fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    Bytes buf(4096);
    auto n = ::recv(s.fd, buf.data(), buf.size(), 0);
    if (n <= 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  };
  // An outsider (here 127.0.0.9, which the policy does not allow): REFUSED, nothing upstream.
  auto outsider = parse(from("127.0.0.9", query(31, "www.example.com.")));
  EXPECT_EQ(outsider.rcode, 5);
  EXPECT_TRUE(upstream_->seen().empty());
  // Weave names are still answered for it.
  EXPECT_EQ(parse(from("127.0.0.9", query(32, "web.weave.local."))).answers.size(), 1u);
  // An allowed source gets recursion.
  auto local = parse(from("127.0.0.1", query(33, "www.example.com.")));
  EXPECT_EQ(local.rcode, 0);
  EXPECT_EQ(upstream_->seen().size(), 1u);
  EXPECT_GE(server_->stats().refused_recursion, 1u);
}

TEST(DnsRecursionPolicy, WeaveNetworkAndLocalSourcesOnly) {
  std::vector<Cidr> nets{*Cidr::parse("10.32.0.0/12"), *Cidr::parse("172.17.0.0/16")};
  std::vector<Ipv4> local{*Ipv4::parse("192.168.1.5")};
  auto ok = [&](const char* a) { return recursion_allowed(asio::ip::make_address(a), nets, local); };
  EXPECT_TRUE(ok("127.0.0.1"));
  EXPECT_TRUE(ok("::1"));
  EXPECT_TRUE(ok("10.40.1.2"));
  EXPECT_TRUE(ok("172.17.0.3"));
  EXPECT_TRUE(ok("192.168.1.5"));
  EXPECT_TRUE(ok("::ffff:10.32.0.1"));
  EXPECT_FALSE(ok("192.168.1.6"));
  EXPECT_FALSE(ok("8.8.8.8"));
  EXPECT_FALSE(ok("2001:db8::1"));
}

// Item 6: 128 idle TCP connections from one host blocked every TCP query for 10 s.
TEST_F(DnsServerTest, TcpConnectionsAreCappedPerSourceAndIdleOnesCloseQuickly) {
  DnsServerConfig cfg;
  EXPECT_LE(cfg.tcp_idle_timeout, std::chrono::seconds(3));
  cfg.max_tcp_per_source = 2;
  start("nameserver 127.0.0.2\n", cfg);
  auto dial_from = [&](const char* src) {
    auto f = std::make_unique<Fd>(::socket(AF_INET, SOCK_STREAM, 0));
    auto la = to_sockaddr(udp::endpoint(asio::ip::make_address(src), 0));
    EXPECT_EQ(::bind(f->fd, reinterpret_cast<sockaddr*>(&la), sizeof la), 0);
    auto ta = to_sockaddr(udp_ep_);
    EXPECT_EQ(::connect(f->fd, reinterpret_cast<sockaddr*>(&ta), sizeof ta), 0);
    return f;
  };
  std::vector<std::unique_ptr<Fd>> held;
  for (int i = 0; i < 2; ++i) held.push_back(dial_from("127.0.0.7"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // A third from the same source is closed at once; other sources are served.
  auto third = dial_from("127.0.0.7");
  set_timeout(third->fd, 1000);
  char c;
  auto r = ::recv(third->fd, &c, 1, 0);
  EXPECT_TRUE(r == 0 || (r < 0 && errno == ECONNRESET)) << "the third connection was not closed";
  EXPECT_TRUE(tcp_exchange(tcp_ep_, query(41, "web.weave.local."), 2000).has_value());
  // The idle ones are closed within the idle timeout.
  set_timeout(held[0]->fd, 4000);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(::recv(held[0]->fd, &c, 1, 0), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST(DnsListen, BindErrorsReadLikeGo) {
  asio::io_context io;
  udp::socket taken(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  SeededRandom rng(1);
  dns::NameserverConfig c;
  c.is_known_peer = [](PeerName) { return true; };
  c.wall_clock = dns::test::wall_of;
  dns::Nameserver ns(std::move(c));
  DnsServerConfig cfg;
  cfg.listen_address = fmt::format("127.0.0.1:{}", taken.local_endpoint().port());
  DnsServer s(io, cfg, ns, rng, null_logger());
  auto r = s.start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, cfg.listen_address.insert(0, "listen udp ") + ": bind: address already in use");
  EXPECT_FALSE(parse_listen_address("nonsense").ok());
  EXPECT_FALSE(parse_listen_address("1.2.3.4:99999").ok());
  EXPECT_EQ(parse_listen_address(":53")->port(), 53);
  EXPECT_TRUE(parse_listen_address("[::1]:53")->address().is_v6());
}

TEST(DnsTicker, ArmsTheSweepAndStopsCleanly) {
  asio::io_context io;
  dns::NameserverConfig c;
  c.is_known_peer = [](PeerName) { return true; };
  c.wall_clock = dns::test::wall_of;
  dns::Nameserver ns(std::move(c));
  NameserverTicker ticker(io, ns);
  ticker.start();
  io.run_for(std::chrono::milliseconds(20));
  ticker.stop();
  io.restart();
  io.run();  // the cancelled wait completes; nothing is left pending
}

TEST(DnsUpstreams, ReReadsAChangedFileAtMostEveryFiveSeconds) {
  auto path = ::testing::TempDir() + "weft-upstreams-" + std::to_string(::getpid()) + ".conf";
  std::ofstream(path) << "nameserver 10.1.1.1\nnameserver 10.9.9.9\nnameserver bogus\n";
  Upstreams u(path, "10.9.9.9", false, 53, null_logger());
  auto t0 = TimePoint{} + std::chrono::hours(1);
  EXPECT_EQ(u.server_names(t0), (std::vector<std::string>{"10.1.1.1"}));
  std::ofstream(path) << "nameserver 10.2.2.2\nnameserver 10.3.3.3\n";
  EXPECT_EQ(u.server_names(t0 + std::chrono::seconds(4)), (std::vector<std::string>{"10.1.1.1"}));
  EXPECT_EQ(u.server_names(t0 + std::chrono::seconds(5)), (std::vector<std::string>{"10.2.2.2", "10.3.3.3"}));
  EXPECT_EQ(u.servers(t0 + std::chrono::seconds(5)).at(1).port(), 53);
  // A missing file keeps the last good list.
  std::remove(path.c_str());
  EXPECT_EQ(u.server_names(t0 + std::chrono::seconds(20)).size(), 2u);
  // Listening on 0.0.0.0:53 leaves out loopback servers (they would be us).
  std::ofstream(path) << "nameserver 127.0.0.53\nnameserver 10.4.4.4\n";
  Upstreams any(path, "", true, 53, null_logger());
  EXPECT_EQ(any.server_names(t0), (std::vector<std::string>{"10.4.4.4"}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace weft::dns_net
