#pragma once
// The Docker API proxy (spec §8): listens on the -H addresses, forwards every request to Docker
// on a new upstream connection, and intercepts create/start/restart/exec (and inspect with
// --rewrite-inspect). Containers it wrapped with /w/w are attached to the weave network when
// Docker reports them started: IPAM addresses from the router API, the veth (weave attach),
// /etc/hosts and the weaveDNS name; a `docker start` through the proxy answers only after that.
//
// The shell is thread-per-connection with blocking I/O (a Docker client opens a handful of
// connections; hijacked streams need both directions pumped at once). The router API is reached
// over HTTP like any other client, so nothing here touches weaver's io_context. Docker's event
// stream is not the proxy's own: its owner (weaver's DockerEvents, one subscription for the
// proxy and the router) feeds container_event() and calls attach_running() on each (re)connect.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "weft/base/logger.hpp"
#include "weft/base/result.hpp"
#include "weft/http/client.hpp"
#include "weft/proxy/rewrite.hpp"
#include "weft/proxy_net/docker_events.hpp"
#include "weft/proxy_net/tls.hpp"

namespace weft::proxy_net {

struct ProxyConfig {
  proxy::RewriteConfig rewrite;
  /// -H values: "unix:///path", "/path", "tcp://host:port", "host:port".
  std::vector<std::string> listen;
  http::Endpoint docker;
  http::Endpoint router_api;
  bool rewrite_inspect = false;
  bool no_rewrite_hosts = false;
  /// Host directory with w/w, w-noop/w and w-nomcast/w, used when there is no container named
  /// `weave` carrying those volumes (weaver running as a process rather than in its image).
  std::string weavewait_dir;
  std::string bridge = "weave";
  /// TLS on the TCP listeners.
  TlsConfig tls;
  /// How long a start waits for its attach (spec: no limit; 0 = none).
  std::chrono::seconds start_wait_limit{0};
};

class Proxy {
 public:
  Proxy(ProxyConfig cfg, Logger log);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  /// Finds the weavewait volumes and binds every listener. Errors are fatal for weaver, as in
  /// Weave.
  Result<void> start();
  /// A Docker event (any thread): a start attaches the container and releases start waiters.
  void container_event(const ContainerEvent& ev);
  /// Attaches every running container (with retries); call when the event stream (re)connects.
  void attach_running();
  void stop();
  /// GET /proxyaddrs: TCP addresses as tcp://addr in -H order, then the unix ones.
  std::vector<std::string> addresses() const;

 private:
  struct Listener;
  struct Waiter;
  void accept_loop(Listener* l);
  void serve(http::StreamSocket sock);
  Result<void> find_weavewait_volumes();
  /// Attach after a start event; returns "" on success (or when skipped), else the error.
  std::string attach(const std::string& id);
  /// Runs `work` on a detached thread that stop() waits for; false once stopping.
  bool spawn(std::function<void()> work);
  void finish_waiters(const std::string& id, const std::string& error);

  struct Conn;
  friend struct Conn;

  ProxyConfig cfg_;
  Logger log_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::shared_ptr<TlsTerminator> tls_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<std::shared_ptr<Waiter>>> waiters_;  ///< by full container ID
  std::set<int> open_fds_;
  int active_threads_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace weft::proxy_net
