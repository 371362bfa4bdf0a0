#pragma once
// A blocking Kubernetes API client over HTTPS (OpenSSL through Boost.Asio/Beast; kube spec §6).
// Paths are API paths as in the spec: "/api/v1/nodes",
// "/api/v1/namespaces/kube-system/configmaps/weave-net", "/apis/networking.k8s.io/v1/networkpolicies".
// Bodies are JSON both ways (`Accept: application/json, */*`, `Authorization: Bearer <token>`).
// Every call opens a new connection. A Client is used by one thread at a time, except cancel(),
// which any thread may call. Calls never throw.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/kube/api.hpp"
#include "weft/kube/config.hpp"
#include "weft/kube/watch_stream.hpp"

namespace weft::kube {

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  unsigned limit = 500;  ///< page size; pages are followed through metadata.continue
  /// "0" (client-go's informer default: any cached version) or "" (a quorum read).
  std::string resource_version = "0";
};

struct WatchOptions {
  std::string resource_version;  ///< start after this version (from the list)
  int timeout_seconds = 300;     ///< the server ends the stream after this
  bool allow_bookmarks = true;
};

class Client {
 public:
  explicit Client(Config config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Config& config() const { return config_; }

  ApiResult<Json> get(std::string_view path);
  /// GETs every page of a collection and returns one list object: the last page's `kind`,
  /// `apiVersion` and `metadata` (so its resourceVersion) with all the `items`.
  ApiResult<Json> list(std::string_view path, const ListOptions& opt = {});
  /// POST. `field_manager` non-empty adds ?fieldManager=.
  ApiResult<Json> create(std::string_view collection_path, const Json& obj,
                         std::string_view field_manager = "");
  /// PUT of the whole object; the server refuses a stale metadata.resourceVersion (conflict).
  ApiResult<Json> update(std::string_view path, const Json& obj,
                         std::string_view field_manager = "");
  /// DELETE; answers the server's body (the deleted object or a Status).
  ApiResult<Json> remove(std::string_view path);
  ApiResult<Json> patch(std::string_view path, const Json& body,
                        std::string_view content_type = "application/strategic-merge-patch+json");

  /// Streams the events of a collection from opt.resource_version. Returns the last
  /// resourceVersion seen (the starting one if none) when the server ends the stream normally
  /// or on_event returns false; `gone` when the server answers 410 or sends an ERROR event with
  /// code 410 (relist); other ERROR events as their Status's kind; `transport` when cancelled.
  ApiResult<std::string> watch(std::string_view collection_path, const WatchOptions& opt,
                               const std::function<bool(const WatchEvent&)>& on_event);

  /// Thread-safe: makes a watch (or request) in progress, and every later one, return at once.
  void cancel();
  bool cancelled() const;

  struct Shared;  ///< implementation detail (the exchange in progress, for cancel())

 private:
  Config config_;
  std::shared_ptr<Shared> shared_;
};

/// "a=1&b=x" with keys sorted, values escaped (url.Values.Encode).
std::string encode_query(std::vector<std::pair<std::string, std::string>> params);

}  // namespace weft::kube
