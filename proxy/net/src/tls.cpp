#include "weft/proxy_net/tls.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace weft::proxy_net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

TlsConfig tls_defaults(TlsConfig c) {
  std::string dir;
  if (const char* p = std::getenv("DOCKER_CERT_PATH"); p && *p) dir = p;
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.docker";
  else dir = "/root/.docker";
  if (c.cacert.empty()) c.cacert = dir + "/ca.pem";
  if (c.cert.empty()) c.cert = dir + "/cert.pem";
  if (c.key.empty()) c.key = dir + "/key.pem";
  if (c.verify) c.enabled = true;
  return c;
}

struct TlsTerminator::Impl {
  ssl::context ctx{ssl::context::tls_server};
  Logger log;
  explicit Impl(Logger l) : log(std::move(l)) {}
};

Result<std::shared_ptr<TlsTerminator>> TlsTerminator::create(const TlsConfig& cfg, Logger log) {
  std::shared_ptr<TlsTerminator> t(new TlsTerminator());
  t->impl_ = std::make_shared<Impl>(std::move(log));
  auto& ctx = t->impl_->ctx;
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3, ec);
  namespace fs = std::filesystem;
  if (fs::exists(cfg.cert) && fs::exists(cfg.key)) {
    ctx.use_certificate_chain_file(cfg.cert, ec);
    if (ec) return make_error("proxy TLS: loading certificate {}: {}", cfg.cert, ec.message());
    ctx.use_private_key_file(cfg.key, ssl::context::pem, ec);
    if (ec) return make_error("proxy TLS: loading key {}: {}", cfg.key, ec.message());
  } else {
    return make_error("proxy TLS: certificate {} or key {} not found", cfg.cert, cfg.key);
  }
  if (cfg.verify) {
    ctx.load_verify_file(cfg.cacert, ec);
    if (ec) return make_error("proxy TLS: loading CA {}: {}", cfg.cacert, ec.message());
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  } else {
    ctx.set_verify_mode(ssl::verify_none, ec);
  }
  // ALPN: http/1.1 (Go's default for an HTTP server).
  SSL_CTX_set_alpn_select_cb(
      ctx.native_handle(),
      [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
         void*) -> int {
        static const unsigned char proto[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
        unsigned char* sel = nullptr;
        if (SSL_select_next_proto(&sel, outlen, proto, sizeof proto, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
          *out = sel;
          return SSL_TLSEXT_ERR_OK;
        }
        return SSL_TLSEXT_ERR_NOACK;
      },
      nullptr);
  return t;
}

TlsTerminator::~TlsTerminator() = default;

namespace {

/// Pumps between the TLS stream and the plain socket until both directions are done.
struct Pump : std::enable_shared_from_this<Pump> {
  asio::io_context& io;
  ssl::stream<asio::ip::tcp::socket> tls;
  asio::local::stream_protocol::socket plain;
  std::array<char, 64 * 1024> up{}, down{};
  int open_dirs = 2;

  Pump(asio::io_context& io_, ssl::context& ctx) : io(io_), tls(io_, ctx), plain(io_) {}

  void finish_dir() {
    if (--open_dirs == 0) {
      boost::system::error_code ec;
      tls.lowest_layer().close(ec);
      plain.close(ec);
    }
  }
  // TLS -> plain
  void read_tls() {
    tls.async_read_some(asio::buffer(up), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      if (n > 0) {
        asio::async_write(self->plain, asio::buffer(self->up.data(), n),
                          [self, ec](boost::system::error_code wec, std::size_t) {
                            if (wec || ec) {
                              boost::system::error_code ig;
                              self->plain.shutdown(asio::socket_base::shutdown_send, ig);
                              self->finish_dir();
                              return;
                            }
                            self->read_tls();
                          });
        return;
      }
      boost::system::error_code ig;
      self->plain.shutdown(asio::socket_base::shutdown_send, ig);
      self->finish_dir();
    });
  }
  // plain -> TLS
  void read_plain() {
    plain.async_read_some(asio::buffer(down), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      if (n > 0) {
        asio::async_write(self->tls, asio::buffer(self->down.data(), n),
                          [self, ec](boost::system::error_code wec, std::size_t) {
                            if (wec || ec) {
                              boost::system::error_code ig;
                              self->tls.lowest_layer().shutdown(asio::socket_base::shutdown_send, ig);
                              self->finish_dir();
                              return;
                            }
                            self->read_plain();
                          });
        return;
      }
      // The proxy closed its side: say close_notify, then stop sending.
      self->tls.async_shutdown([self](boost::system::error_code) {
        boost::system::error_code ig;
        self->tls.lowest_layer().shutdown(asio::socket_base::shutdown_send, ig);
        self->finish_dir();
      });
    });
  }
};

}  // namespace

int TlsTerminator::wrap(int fd) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ::close(fd);
    return -1;
  }
  auto impl = impl_;
  std::thread([impl, fd, inner = sv[0]] {
    asio::io_context io;
    auto p = std::make_shared<Pump>(io, impl->ctx);
    boost::system::error_code ec;
    p->tls.next_layer().assign(asio::ip::tcp::v6(), fd, ec);
    if (ec) p->tls.next_layer().assign(asio::ip::tcp::v4(), fd, ec);
    p->plain.assign(asio::local::stream_protocol(), inner, ec);
    p->tls.async_handshake(ssl::stream_base::server, [p, impl](boost::system::error_code hec) {
      if (hec) {
        impl->log.info("proxy TLS handshake failed: {}", hec.message());
        boost::system::error_code ig;
        p->tls.lowest_layer().close(ig);
        p->plain.close(ig);
        return;
      }
      p->read_tls();
      p->read_plain();
    });
    io.run();
  }).detach();
  return sv[1];
}

}  // namespace weft::proxy_net
