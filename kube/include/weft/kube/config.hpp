#pragma once
// In-cluster configuration (kube spec §6.1), as client-go's rest.InClusterConfig:
//   base URL  https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
//   token     <sa dir>/token      (re-read before every request, so rotated tokens are picked up)
//   CA        <sa dir>/ca.crt     (unreadable: a warning and the system roots, as client-go)
// where <sa dir> is /var/run/secrets/kubernetes.io/serviceaccount. Tests point everything
// elsewhere with the overrides or the environment variables WEFT_KUBE_SA_DIR, WEFT_KUBE_TOKEN_FILE
// and WEFT_KUBE_CA_FILE (flags beat environment, environment beats defaults).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "weft/base/result.hpp"

namespace weft::kube {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct Config {
  std::string host;  ///< IP or name; IPv6 without brackets
  std::uint16_t port = 443;
  std::string token_file;  ///< read before each request; "" = use `token`
  std::string token;
  std::string ca_file;     ///< "" = system roots
  std::string user_agent = "weft";
  /// Budget for one non-watch request (connect to last byte).
  std::chrono::milliseconds timeout{30'000};
  /// A watch whose server sends nothing for this long is dropped (it would have ended by its
  /// timeoutSeconds long before).
  std::chrono::milliseconds watch_idle_timeout{700'000};
};

struct ConfigOverrides {
  std::optional<std::string> host, port, sa_dir, token_file, ca_file;
};

/// Errors read like client-go's: `unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST
/// and KUBERNETES_SERVICE_PORT must be defined`, or name the unreadable token file.
Result<Config> in_cluster_config(const ConfigOverrides& overrides = {});

}  // namespace weft::kube
