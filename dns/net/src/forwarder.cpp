#include "weft/dns_net/forwarder.hpp"

#include <boost/asio.hpp>
#include <unordered_set>

#include "weft/dns/responder.hpp"
#include "weft/dns_net/upstream.hpp"

namespace weft::dns_net {

namespace asio = boost::asio;
using boost::system::error_code;

class Exchange;

struct Forwarder::State {
  State(asio::io_context& io_, Upstreams& up, Random& r, ForwarderConfig c, Logger l)
      : io(io_), upstreams(up), rng(r), config(c), log(std::move(l)) {}
  asio::io_context& io;
  Upstreams& upstreams;
  Random& rng;
  ForwarderConfig config;
  Logger log;
  bool stopped = false;
  std::unordered_set<Exchange*> live;  ///< running exchanges (each owned by its handlers)
  ForwarderStats stats;
};

/// One forwarded query: walks the server list until one answers.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<Forwarder::State> st, ByteSpan query, const dns::QueryInfo& info, Forwarder::Done done)
      : st_(std::move(st)),
        query_(query.begin(), query.end()),
        info_(info),
        done_(std::move(done)),
        timer_(st_->io),
        udp_(st_->io),
        tcp_(st_->io) {}
  ~Exchange() { st_->live.erase(this); }

  /// Runs from the io_context, never inside Forwarder::forward(), so Done is never called
  /// re-entrantly from forward().
  void start() {
    if (finished_) return;
    servers_ = st_->upstreams.servers(Clock::now());
    next_server();
  }

  /// stop(): close everything; pending handlers see `finished_` and return.
  void abandon() {
    finished_ = true;
    close_sockets();
  }

 private:
  std::uint16_t fresh_id() { return static_cast<std::uint16_t>(st_->rng.uniform(65536)); }

  void close_sockets() {
    error_code ec;
    timer_.cancel();
    udp_.close(ec);
    tcp_.close(ec);
  }

  void next_server() {
    if (finished_) return;
    if (next_ >= servers_.size()) {
      ++st_->stats.failed;
      finish(dns::error_reply(query_, dns::Rcode::servfail));
      return;
    }
    auto server = servers_[next_++];
    if (info_.transport == dns::Transport::tcp) {
      tcp_attempt(asio::ip::tcp::endpoint(server.address(), server.port()), std::nullopt);
    } else {
      udp_attempt(server);
    }
  }

  /// Arms the per-attempt timeout; on expiry `on_timeout` runs unless the attempt moved on.
  template <typename F>
  void arm(std::uint64_t gen, F on_timeout) {
    timer_.expires_after(st_->config.timeout);
    timer_.async_wait([self = shared_from_this(), gen, on_timeout](const error_code& ec) {
      if (ec || self->finished_ || gen != self->gen_) return;
      self->close_sockets();
      on_timeout();
    });
  }

  void udp_attempt(const asio::ip::udp::endpoint& server) {
    const auto gen = ++gen_;
    close_sockets();
    error_code ec;
    udp_.open(server.protocol(), ec);
    // NB: a connected socket only accepts datagrams from the server and reports ICMP
    // port-unreachable as an error, so a dead server fails fast instead of timing out.
    if (!ec) udp_.connect(server, ec);
    if (ec) {
      next_server();
      return;
    }
    sent_id_ = fresh_id();
    out_ = dns::with_id(query_, sent_id_);
    buf_.resize(std::min<std::size_t>(dns::kMaxMessageSize, std::max<std::size_t>(dns::kEdnsUdpSize, info_.max_size)));
    arm(gen, [self = shared_from_this()] { self->next_server(); });
    udp_.async_send(asio::buffer(out_), [self = shared_from_this(), gen](const error_code& e, std::size_t) {
      if (self->finished_ || gen != self->gen_ || !e) return;
      self->close_sockets();
      self->next_server();
    });
    udp_receive(gen, server);
  }

  void udp_receive(std::uint64_t gen, asio::ip::udp::endpoint server) {
    udp_.async_receive(asio::buffer(buf_),
                       [self = shared_from_this(), gen, server](const error_code& e, std::size_t n) {
                         if (self->finished_ || gen != self->gen_) return;
                         if (e) {
                           self->close_sockets();
                           self->next_server();
                           return;
                         }
                         ByteSpan raw(self->buf_.data(), n);
                         auto ok = dns::accept_upstream_reply(raw, self->sent_id_, self->info_);
                         if (!ok.ok()) {
                           ++self->st_->stats.rejected_replies;
                           self->udp_receive(gen, server);  // not ours (spoofed or stale): keep waiting
                           return;
                         }
                         if (dns::header_tc(raw) && self->info_.max_size > dns::kMinUdpSize) {
                           ++self->st_->stats.tcp_retries;
                           self->tcp_attempt(asio::ip::tcp::endpoint(server.address(), server.port()), std::move(*ok));
                           return;
                         }
                         self->answered(std::move(*ok));
                       });
  }

  /// Over TCP. `fallback` is the truncated UDP reply to use if this attempt fails or is no better.
  void tcp_attempt(const asio::ip::tcp::endpoint& server, std::optional<Bytes> fallback) {
    const auto gen = ++gen_;
    close_sockets();
    fallback_ = std::move(fallback);
    sent_id_ = fresh_id();
    auto msg = dns::with_id(query_, sent_id_);
    out_.clear();
    out_.push_back(static_cast<std::uint8_t>(msg.size() >> 8));
    out_.push_back(static_cast<std::uint8_t>(msg.size()));
    out_.insert(out_.end(), msg.begin(), msg.end());
    auto fail = [self = shared_from_this()] {
      if (self->fallback_) {
        self->answered(std::move(*self->fallback_));
      } else {
        self->next_server();
      }
    };
    arm(gen, fail);
    tcp_.async_connect(server, [self = shared_from_this(), gen, fail](const error_code& e) {
      if (self->finished_ || gen != self->gen_) return;
      if (e) {
        self->close_sockets();
        fail();
        return;
      }
      asio::async_write(self->tcp_, asio::buffer(self->out_), [self, gen, fail](const error_code& e2, std::size_t) {
        if (self->finished_ || gen != self->gen_) return;
        if (e2) {
          self->close_sockets();
          fail();
          return;
        }
        self->tcp_read(gen, fail);
      });
    });
  }

  template <typename F>
  void tcp_read(std::uint64_t gen, F fail) {
    asio::async_read(
        tcp_, asio::buffer(len_, 2), [self = shared_from_this(), gen, fail](const error_code& e, std::size_t) {
          if (self->finished_ || gen != self->gen_) return;
          const std::size_t n = (std::size_t{self->len_[0]} << 8) | self->len_[1];
          if (e || n < dns::kHeaderSize) {
            self->close_sockets();
            fail();
            return;
          }
          self->buf_.resize(n);
          asio::async_read(self->tcp_, asio::buffer(self->buf_), [self, gen, fail](const error_code& e2, std::size_t) {
            if (self->finished_ || gen != self->gen_) return;
            self->close_sockets();
            if (e2) {
              fail();
              return;
            }
            auto ok = dns::accept_upstream_reply(self->buf_, self->sent_id_, self->info_);
            if (!ok.ok()) {
              ++self->st_->stats.rejected_replies;
              fail();
              return;
            }
            // A reply that still has to be cut for the client is no better than the UDP one.
            if (self->fallback_ && dns::header_tc(*ok)) {
              self->answered(std::move(*self->fallback_));
              return;
            }
            self->answered(std::move(*ok));
          });
        });
  }

  void answered(Bytes reply) {
    ++st_->stats.answered;
    finish(std::move(reply));
  }

  void finish(Bytes reply) {
    if (finished_) return;
    finished_ = true;
    close_sockets();
    st_->live.erase(this);
    auto done = std::move(done_);
    if (!st_->stopped && done) done(std::move(reply));
  }

  std::shared_ptr<Forwarder::State> st_;
  Bytes query_;
  dns::QueryInfo info_;
  Forwarder::Done done_;
  asio::steady_timer timer_;
  asio::ip::udp::socket udp_;
  asio::ip::tcp::socket tcp_;
  std::vector<asio::ip::udp::endpoint> servers_;
  std::size_t next_ = 0;
  std::uint64_t gen_ = 0;  ///< bumped per attempt: handlers of an older attempt do nothing
  bool finished_ = false;
  std::uint16_t sent_id_ = 0;
  Bytes out_;
  Bytes buf_;
  std::uint8_t len_[2] = {0, 0};
  std::optional<Bytes> fallback_;
};

Forwarder::Forwarder(asio::io_context& io, Upstreams& upstreams, Random& rng, ForwarderConfig config, Logger log)
    : state_(std::make_shared<State>(io, upstreams, rng, config, std::move(log))) {}

Forwarder::~Forwarder() { stop(); }

bool Forwarder::forward(ByteSpan query, const dns::QueryInfo& info, Done done) {
  if (state_->stopped || state_->live.size() >= state_->config.max_in_flight) return false;
  ++state_->stats.forwarded;
  auto x = std::make_shared<Exchange>(state_, query, info, std::move(done));
  state_->live.insert(x.get());
  asio::post(state_->io, [x] { x->start(); });
  return true;
}

void Forwarder::stop() {
  state_->stopped = true;
  auto live = state_->live;
  state_->live.clear();
  for (auto* x : live) x->abandon();
}

std::size_t Forwarder::in_flight() const { return state_->live.size(); }
const ForwarderStats& Forwarder::stats() const { return state_->stats; }

}  // namespace weft::dns_net
