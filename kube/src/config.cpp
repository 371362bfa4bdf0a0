#include "weft/kube/config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace weft::kube {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

}  // namespace

Result<Config> in_cluster_config(const ConfigOverrides& o) {
  auto host = o.host ? o.host : env("KUBERNETES_SERVICE_HOST");
  auto port = o.port ? o.port : env("KUBERNETES_SERVICE_PORT");
  if (!host || !port || host->empty() || port->empty()) {
    return make_error(
        "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
        "KUBERNETES_SERVICE_PORT must be defined");
  }
  Config c;
  c.host = *host;
  if (c.host.size() >= 2 && c.host.front() == '[' && c.host.back() == ']') {
    c.host = c.host.substr(1, c.host.size() - 2);
  }
  unsigned p = 0;
  if (port->size() > 5) return make_error("invalid KUBERNETES_SERVICE_PORT \"{}\"", *port);
  for (char ch : *port) {
    if (ch < '0' || ch > '9') return make_error("invalid KUBERNETES_SERVICE_PORT \"{}\"", *port);
    p = p * 10 + static_cast<unsigned>(ch - '0');
  }
  if (p == 0 || p > 65535) return make_error("invalid KUBERNETES_SERVICE_PORT \"{}\"", *port);
  c.port = static_cast<std::uint16_t>(p);

  std::string dir = o.sa_dir ? *o.sa_dir : env("WEFT_KUBE_SA_DIR").value_or(kServiceAccountDir);
  c.token_file = o.token_file ? *o.token_file : env("WEFT_KUBE_TOKEN_FILE").value_or(dir + "/token");
  c.ca_file = o.ca_file ? *o.ca_file : env("WEFT_KUBE_CA_FILE").value_or(dir + "/ca.crt");
  std::ifstream tf(c.token_file);
  if (!tf) return make_error("open {}: cannot read the service-account token", c.token_file);
  return c;
}

}  // namespace weft::kube
