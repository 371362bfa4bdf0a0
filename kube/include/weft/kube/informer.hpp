#pragma once
// Informer: keeps a local copy of one collection in step with the API server, as client-go's
// reflector does (kube spec §6.3): LIST (limit 500, resourceVersion 0), then WATCH from the
// list's resourceVersion; when the server ends the stream, watch again from the last version
// seen; on 410 Gone, relist: objects missing from the new list are delivered as deletes,
// changed ones as updates, unchanged ones not at all. No periodic resync.
//
// Handlers run on the thread that called run(), one at a time, in the order of the stream.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "weft/base/logger.hpp"
#include "weft/kube/client.hpp"

namespace weft::kube {

struct InformerHandlers {
  std::function<void(const Json& obj)> on_add;
  std::function<void(const Json& old_obj, const Json& new_obj)> on_update;
  std::function<void(const Json& obj)> on_delete;
  /// Called after every (re)list has been applied; `synced` in client-go terms.
  std::function<void()> on_synced;
};

struct InformerOptions {
  ListOptions list;
  /// The server ends each watch after a random 300..599 s, like client-go.
  int min_timeout_seconds = 300;
  /// Wait between attempts after a transport error (doubles up to 30 s).
  std::chrono::milliseconds retry_delay{1000};
};

class Informer {
 public:
  Informer(Config config, std::string collection_path, InformerHandlers handlers, Logger log,
           InformerOptions opt = {});

  /// Blocks until stop() (returns ok) or a fatal error: 401, 403 or an answer that is not the
  /// API's. Transport errors and 5xx are retried.
  ApiStatus run();
  /// Thread-safe.
  void stop();

  /// The current objects by object_key(); only from the run() thread (e.g. inside a handler).
  const std::map<std::string, Json>& store() const { return store_; }
  std::size_t relists() const { return relists_; }

 private:
  ApiResult<std::string> relist();
  bool sleep_for(std::chrono::milliseconds d);

  Client client_;
  std::string path_;
  InformerHandlers h_;
  Logger log_;
  InformerOptions opt_;
  std::map<std::string, Json> store_;
  std::size_t relists_ = 0;
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace weft::kube
