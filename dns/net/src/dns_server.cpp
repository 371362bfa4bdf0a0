#include "weft/dns_net/dns_server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <deque>
#include <unordered_set>

#include "weft/dns_net/upstream.hpp"

namespace weft::dns_net {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

namespace {

struct HostPort {
  std::string host;  ///< as written, without brackets
  std::uint16_t port = 0;
};

Result<HostPort> split_host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return make_error("address {}: missing port in address", s);
  std::string host = s.substr(0, colon);
  std::string port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    return make_error("address {}: invalid port", s);
  }
  return HostPort{host, static_cast<std::uint16_t>(std::stoul(port))};
}

/// Go's wording for socket errors: "address already in use", lower case.
std::string go_message(const error_code& ec) {
  auto msg = ec.message();
  if (!msg.empty()) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
  return msg;
}

}  // namespace

Result<udp::endpoint> parse_listen_address(const std::string& s) {
  WEFT_TRY(hp, split_host_port(s));
  if (hp.host.empty()) return udp::endpoint(udp::v4(), hp.port);
  error_code ec;
  auto addr = asio::ip::make_address(hp.host, ec);
  if (ec) return make_error("address {}: not an IP address", s);
  return udp::endpoint(addr, hp.port);
}

class TcpConn;

/// Where a UDP query came from and which of our addresses it was sent to. Replies leave from
/// that address (IP_PKTINFO), so a server bound to 0.0.0.0 on a host with several addresses
/// answers from the one the client asked, as miekg/dns does; resolvers drop other sources.
struct UdpPeer {
  udp::endpoint from;
  std::optional<asio::ip::address> local;
};

enum class Served { answered, dropped, forwarded };

struct DnsServer::State : std::enable_shared_from_this<DnsServer::State> {
  State(asio::io_context& io_, DnsServerConfig c, const dns::NameLookup& names, Random& r, Logger l)
      : io(io_),
        config(std::move(c)),
        responder(config.responder, names),
        rng(r),
        log(std::move(l)),
        udp_sock(io),
        acceptor(io),
        retry_timer(io) {}

  void wait_udp();
  bool receive_one_udp();
  void send_udp(const UdpPeer& to, const Bytes& msg);
  void accept_tcp();
  /// Runs the responder. An answer (or SERVFAIL when the forwarder is full) goes to `now`; a
  /// forwarded query's reply goes to `later` when the upstream answers.
  Served serve(ByteSpan query, dns::Transport t, const asio::ip::address& from, const std::function<void(Bytes)>& now,
               Forwarder::Done later);

  asio::io_context& io;
  DnsServerConfig config;
  dns::Responder responder;
  Random& rng;
  Logger log;
  udp::socket udp_sock;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  std::unique_ptr<Upstreams> upstreams;
  std::unique_ptr<Forwarder> forwarder;
  std::unordered_set<std::shared_ptr<TcpConn>> conns;
  std::vector<std::uint8_t> udp_buf = std::vector<std::uint8_t>(65536);
  std::string host;
  bool started = false;
  bool stopped = false;
  DnsServerStats stats;
};

/// One TCP client: length-prefixed queries, possibly pipelined; replies in completion order.
class TcpConn : public std::enable_shared_from_this<TcpConn> {
 public:
  TcpConn(std::shared_ptr<DnsServer::State> st, tcp::socket s, asio::ip::address remote)
      : st_(std::move(st)), sock_(std::move(s)), idle_(st_->io), remote_(std::move(remote)) {}

  const asio::ip::address& remote() const { return remote_; }

  void start() { read_length(); }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
    idle_.cancel();
    st_->conns.erase(shared_from_this());
  }

 private:
  void arm_idle() {
    idle_.expires_after(st_->config.tcp_idle_timeout);
    idle_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->closed_) return;
      if (self->pending_ > 0) {
        self->arm_idle();  // an upstream is still working for this client
        return;
      }
      self->close();
    });
  }

  void read_length() {
    if (closed_ || reading_) return;
    if (pending_ >= st_->config.max_tcp_pipelined) return;  // resumed when a forward completes
    reading_ = true;
    arm_idle();
    asio::async_read(sock_, asio::buffer(len_, 2), [self = shared_from_this()](const error_code& ec, std::size_t) {
      if (ec || self->closed_) {
        self->close();
        return;
      }
      const std::size_t n = (std::size_t{self->len_[0]} << 8) | self->len_[1];
      if (n == 0) {
        self->close();
        return;
      }
      self->body_.resize(n);
      asio::async_read(self->sock_, asio::buffer(self->body_), [self](const error_code& e2, std::size_t) {
        if (e2 || self->closed_) {
          self->close();
          return;
        }
        self->reading_ = false;
        self->handle();
        self->read_length();
      });
    });
  }

  void handle() {
    ++st_->stats.tcp_queries;
    auto self = shared_from_this();
    auto served = st_->serve(
        body_, dns::Transport::tcp, remote_, [self](Bytes reply) { self->write(std::move(reply)); },
        [self](Bytes reply) {
          self->write(std::move(reply));
          --self->pending_;
          self->read_length();
        });
    if (served == Served::forwarded) ++pending_;
  }

  void write(Bytes msg) {
    if (closed_ || msg.empty()) return;
    Bytes framed;
    framed.reserve(msg.size() + 2);
    framed.push_back(static_cast<std::uint8_t>(msg.size() >> 8));
    framed.push_back(static_cast<std::uint8_t>(msg.size()));
    framed.insert(framed.end(), msg.begin(), msg.end());
    queue_.push_back(std::move(framed));
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    asio::async_write(sock_, asio::buffer(queue_.front()),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (ec || self->closed_) {
                          self->close();
                          return;
                        }
                        self->queue_.pop_front();
                        if (self->queue_.empty()) {
                          self->writing_ = false;
                        } else {
                          self->do_write();
                        }
                      });
  }

  std::shared_ptr<DnsServer::State> st_;
  tcp::socket sock_;
  asio::steady_timer idle_;
  asio::ip::address remote_;
  std::uint8_t len_[2] = {0, 0};
  Bytes body_;
  std::deque<Bytes> queue_;
  bool writing_ = false;
  bool reading_ = false;
  bool closed_ = false;
  std::size_t pending_ = 0;
};

Served DnsServer::State::serve(ByteSpan query, dns::Transport t, const asio::ip::address& from,
                               const std::function<void(Bytes)>& now, Forwarder::Done later) {
  auto r = responder.respond(query, t, rng);
  if (auto* a = std::get_if<dns::Answer>(&r)) {
    ++stats.answered;
    now(std::move(a->message));
    return Served::answered;
  }
  if (std::holds_alternative<dns::Drop>(r)) {
    ++stats.dropped;
    return Served::dropped;
  }
  if (config.allow_recursion && !config.allow_recursion(from)) {
    ++stats.refused_recursion;
    now(dns::error_reply(query, dns::Rcode::refused));
    return Served::answered;
  }
  if (!forwarder->forward(query, std::get<dns::Forward>(r).query, std::move(later))) {
    ++stats.overloaded;
    now(dns::error_reply(query, dns::Rcode::servfail));
    return Served::answered;
  }
  ++stats.forwarded;
  return Served::forwarded;
}

void DnsServer::State::wait_udp() {
  udp_sock.async_wait(udp::socket::wait_read, [self = shared_from_this()](const error_code& ec) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    // A bounded batch per wake-up, so TCP and forwarded replies get their turn under a flood.
    for (int i = 0; i < 64 && !self->stopped && self->receive_one_udp(); ++i) {
    }
    if (!self->stopped) self->wait_udp();
  });
}

bool DnsServer::State::receive_one_udp() {
  sockaddr_storage from{};
  iovec iov{udp_buf.data(), udp_buf.size()};
  alignas(cmsghdr) std::uint8_t control[256];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const auto n = ::recvmsg(udp_sock.native_handle(), &msg, MSG_DONTWAIT);
  if (n < 0) return errno == EINTR;
  UdpPeer peer;
  if (from.ss_family == AF_INET) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(&from);
    peer.from = udp::endpoint(asio::ip::address_v4(ntohl(sa->sin_addr.s_addr)), ntohs(sa->sin_port));
  } else if (from.ss_family == AF_INET6) {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(&from);
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), sa->sin6_addr.s6_addr, 16);
    peer.from = udp::endpoint(asio::ip::address_v6(b, sa->sin6_scope_id), ntohs(sa->sin6_port));
  } else {
    return true;
  }
  for (auto* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      peer.local = asio::ip::address_v4(ntohl(pi.ipi_addr.s_addr));
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), pi.ipi6_addr.s6_addr, 16);
      peer.local = asio::ip::address_v6(b);
    }
  }
  ++stats.udp_queries;
  auto self = shared_from_this();
  serve(
      ByteSpan(udp_buf.data(), static_cast<std::size_t>(n)), dns::Transport::udp, peer.from.address(),
      [&](Bytes reply) { send_udp(peer, reply); },
      [self, peer](Bytes reply) {
        if (!self->stopped) self->send_udp(peer, reply);
      });
  return true;
}

void DnsServer::State::send_udp(const UdpPeer& to, const Bytes& msg) {
  if (msg.empty()) return;
  if (!to.local) {
    error_code ec;
    // NB: non-blocking: under a flood a full socket buffer drops the reply instead of queueing it.
    udp_sock.send_to(asio::buffer(msg), to.from, 0, ec);
    if (ec) ++stats.send_errors;
    return;
  }
  iovec iov{const_cast<std::uint8_t*>(msg.data()), msg.size()};
  alignas(cmsghdr) std::uint8_t control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  msghdr m{};
  m.msg_name = const_cast<sockaddr*>(to.from.data());
  m.msg_namelen = static_cast<socklen_t>(to.from.size());
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  auto* c = reinterpret_cast<cmsghdr*>(control);
  if (to.local->is_v4()) {
    in_pktinfo pi{};
    pi.ipi_spec_dst.s_addr = htonl(to.local->to_v4().to_uint());
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    m.msg_controllen = CMSG_SPACE(sizeof pi);
  } else {
    in6_pktinfo pi{};
    auto b = to.local->to_v6().to_bytes();
    std::memcpy(pi.ipi6_addr.s6_addr, b.data(), 16);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    m.msg_controllen = CMSG_SPACE(sizeof pi);
  }
  if (::sendmsg(udp_sock.native_handle(), &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) ++stats.send_errors;
}

void DnsServer::State::accept_tcp() {
  acceptor.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket s) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // E.g. EMFILE: back off instead of spinning on the error.
      self->retry_timer.expires_after(std::chrono::milliseconds(100));
      self->retry_timer.async_wait([self](const error_code& e) {
        if (!e && !self->stopped) self->accept_tcp();
      });
      return;
    }
    error_code rec;
    auto remote = s.remote_endpoint(rec).address();
    std::size_t from_source = 0;
    for (const auto& c : self->conns) from_source += c->remote() == remote;
    if (rec || self->conns.size() >= self->config.max_tcp_connections || from_source >= self->config.max_tcp_per_source) {
      ++self->stats.tcp_refused;
      error_code ignored;
      s.close(ignored);
    } else {
      auto c = std::make_shared<TcpConn>(self, std::move(s), remote);
      self->conns.insert(c);
      c->start();
    }
    self->accept_tcp();
  });
}

DnsServer::DnsServer(asio::io_context& io, DnsServerConfig config, const dns::NameLookup& names, Random& rng,
                     Logger log)
    : state_(std::make_shared<State>(io, std::move(config), names, rng, std::move(log))) {}

DnsServer::~DnsServer() { stop(); }

Result<void> DnsServer::start() {
  auto& st = *state_;
  WEFT_TRY(hp, split_host_port(st.config.listen_address));
  WEFT_TRY(ep, parse_listen_address(st.config.listen_address));
  st.host = hp.host;
  // UDP and TCP must share a port; with port 0 take UDP's and retry if TCP's is taken.
  for (int attempt = 0;; ++attempt) {
    error_code ec;
    st.udp_sock.open(ep.protocol(), ec);
    if (!ec) st.udp_sock.bind(ep, ec);
    if (ec) {
      error_code ignored;
      st.udp_sock.close(ignored);
      return make_error("listen udp {}: bind: {}", st.config.listen_address, go_message(ec));
    }
    tcp::endpoint tep(ep.address(), st.udp_sock.local_endpoint().port());
    st.acceptor.open(tep.protocol(), ec);
    if (!ec) st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) st.acceptor.bind(tep, ec);
    if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) break;
    error_code ignored;
    st.acceptor.close(ignored);
    st.udp_sock.close(ignored);
    if (ep.port() != 0 || attempt >= 20)
      return make_error("listen tcp {}: bind: {}", st.config.listen_address, go_message(ec));
  }
  st.udp_sock.non_blocking(true);
  if (ep.address().is_unspecified()) {
    // Learn each query's destination address, to answer from it (see UdpPeer). Best effort:
    // without it replies take the routing's source address, as before.
    const int on = 1;
    const auto fd = st.udp_sock.native_handle();
    if (ep.address().is_v4()) {
      (void)::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    } else {
      (void)::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    }
  }
  {
    // Best effort (capped by net.core.rmem_max): room for bursts before the kernel drops queries.
    error_code ignored;
    st.udp_sock.set_option(asio::socket_base::receive_buffer_size(1 << 20), ignored);
  }

  std::string own = st.config.effective_address;
  if (own.empty() && !ep.address().is_unspecified()) own = ep.address().to_string();
  st.upstreams = std::make_unique<Upstreams>(st.config.resolv_conf, own, ep.address().is_unspecified(),
                                             st.udp_sock.local_endpoint().port(), st.log.child("dns-upstream"),
                                             st.config.upstream_port);
  st.upstreams->servers(Clock::now());  // read it now, so startup logs what we will use
  st.forwarder = std::make_unique<Forwarder>(st.io, *st.upstreams, st.rng,
                                             ForwarderConfig{st.config.fallback_timeout, st.config.max_forwarded},
                                             st.log.child("dns-forwarder"));
  st.started = true;
  st.wait_udp();
  st.accept_tcp();
  st.log.info("Listening for DNS on {} (udp and tcp), domain {}, ttl {}", address(), st.responder.config().domain,
              st.responder.config().ttl);
  return {};
}

void DnsServer::stop() {
  auto& st = *state_;
  if (st.stopped) return;
  st.stopped = true;
  error_code ec;
  st.udp_sock.close(ec);
  st.acceptor.close(ec);
  st.retry_timer.cancel();
  if (st.forwarder) st.forwarder->stop();
  auto conns = st.conns;
  for (auto& c : conns) c->close();
  st.conns.clear();
}

udp::endpoint DnsServer::udp_endpoint() const {
  error_code ec;
  auto ep = state_->udp_sock.local_endpoint(ec);
  return ec ? udp::endpoint() : ep;
}

tcp::endpoint DnsServer::tcp_endpoint() const {
  error_code ec;
  auto ep = state_->acceptor.local_endpoint(ec);
  return ec ? tcp::endpoint() : ep;
}

std::string DnsServer::host() const { return state_->host; }

std::string DnsServer::address() const {
  const auto& h = state_->host;
  auto port = udp_endpoint().port();
  return h.find(':') != std::string::npos ? fmt::format("[{}]:{}", h, port) : fmt::format("{}:{}", h, port);
}

std::vector<std::string> DnsServer::upstreams() {
  if (!state_->upstreams) return {};
  return state_->upstreams->server_names(Clock::now());
}

const dns::ResponderConfig& DnsServer::responder_config() const { return state_->responder.config(); }
DnsServerStats DnsServer::stats() const { return state_->stats; }

const ForwarderStats& DnsServer::forwarder_stats() const {
  static const ForwarderStats kNone;
  return state_->forwarder ? state_->forwarder->stats() : kNone;
}

}  // namespace weft::dns_net
