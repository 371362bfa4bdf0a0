#pragma once
// TLS for the proxy's TCP listeners (--tls, --tlsverify, --tlscacert, --tlscert, --tlskey; spec
// §8.1). TLS is terminated in front of the plain proxy: each accepted connection gets a unix
// socketpair; a thread runs the TLS handshake and then pumps bytes between the TLS stream and
// one end with asynchronous operations on its own io_context (so a read and a write may be in
// flight at once, which blocking OpenSSL calls from two threads may not), while the proxy serves
// the other end exactly as it serves a plain connection, hijacked streams included.
#include <memory>
#include <optional>
#include <string>

#include "weft/base/logger.hpp"
#include "weft/base/result.hpp"

namespace weft::proxy_net {

struct TlsConfig {
  bool enabled = false;  ///< --tls, or implied by --tlsverify
  bool verify = false;   ///< --tlsverify: clients must present a certificate signed by cacert
  std::string cacert, cert, key;
};

/// Fills in Weave's defaults: ca.pem, cert.pem, key.pem in $DOCKER_CERT_PATH (else ~/.docker) for
/// paths not given.
TlsConfig tls_defaults(TlsConfig c);

class TlsTerminator {
 public:
  /// Loads the certificate and key (only if both files exist, as Weave does) and the CA.
  static Result<std::shared_ptr<TlsTerminator>> create(const TlsConfig& cfg, Logger log);
  ~TlsTerminator();

  /// Takes the accepted TCP connection `fd`; returns the plain end of a socketpair that carries
  /// the decrypted stream (or -1 on error). A thread handshakes and pumps until either side ends.
  int wrap(int fd);

 private:
  TlsTerminator() = default;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace weft::proxy_net
