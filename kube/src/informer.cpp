#include "weft/kube/informer.hpp"

#include <random>

namespace weft::kube {

Informer::Informer(Config config, std::string collection_path, InformerHandlers handlers,
                   Logger log, InformerOptions opt)
    : client_(std::move(config)),
      path_(std::move(collection_path)),
      h_(std::move(handlers)),
      log_(std::move(log)),
      opt_(std::move(opt)) {}

void Informer::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  client_.cancel();
}

bool Informer::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stopped_.load(); });
}

ApiResult<std::string> Informer::relist() {
  auto list = client_.list(path_, opt_.list);
  if (!list) return list.error();
  ++relists_;
  std::map<std::string, Json> fresh;
  for (auto& item : (*list)["items"]) {
    auto key = object_key(item);
    if (!key.empty()) fresh.emplace(std::move(key), std::move(item));
  }
  // Objects that vanished while we were not watching: deletes (client-go's tombstones).
  for (auto it = store_.begin(); it != store_.end();) {
    if (fresh.count(it->first) == 0) {
      Json gone = std::move(it->second);
      it = store_.erase(it);
      if (h_.on_delete) h_.on_delete(gone);
    } else {
      ++it;
    }
  }
  for (auto& [key, obj] : fresh) {
    auto it = store_.find(key);
    if (it == store_.end()) {
      auto& stored = store_.emplace(key, std::move(obj)).first->second;
      if (h_.on_add) h_.on_add(stored);
    } else if (resource_version_of(it->second) != resource_version_of(obj)) {
      Json old = std::move(it->second);
      it->second = std::move(obj);
      if (h_.on_update) h_.on_update(old, it->second);
    }
  }
  if (h_.on_synced) h_.on_synced();
  return resource_version_of(*list);
}

ApiStatus Informer::run() {
  std::mt19937 rng(std::random_device{}());
  auto delay = opt_.retry_delay;
  std::string rv;
  bool need_list = true;
  auto fatal = [](const ApiError& e) {
    return e.kind == ErrorKind::unauthorized || e.kind == ErrorKind::forbidden ||
           e.kind == ErrorKind::not_found || e.kind == ErrorKind::bad_response;
  };
  while (!stopped_) {
    if (need_list) {
      auto r = relist();
      if (stopped_) break;
      if (!r) {
        if (fatal(r.error())) return r.error();
        log_.warn("list {}: {} (retrying in {} ms)", path_, r.error().message, delay.count());
        if (!sleep_for(delay)) break;
        delay = std::min(delay * 2, std::chrono::milliseconds(30'000));
        continue;
      }
      rv = *r;
      need_list = false;
    }
    int span = opt_.min_timeout_seconds;
    int timeout = span + static_cast<int>(rng() % static_cast<unsigned>(span > 0 ? span : 1));
    auto w = client_.watch(path_, {.resource_version = rv, .timeout_seconds = timeout},
                           [&](const WatchEvent& ev) {
                             auto key = object_key(ev.object);
                             switch (ev.type) {
                               case EventType::added:
                               case EventType::modified: {
                                 if (key.empty()) break;
                                 auto it = store_.find(key);
                                 if (it == store_.end()) {
                                   auto& s = store_.emplace(key, ev.object).first->second;
                                   if (h_.on_add) h_.on_add(s);
                                 } else {
                                   Json old = std::move(it->second);
                                   it->second = ev.object;
                                   if (h_.on_update) h_.on_update(old, it->second);
                                 }
                                 break;
                               }
                               case EventType::deleted: {
                                 auto it = store_.find(key);
                                 Json last = it != store_.end() ? std::move(it->second) : ev.object;
                                 if (it != store_.end()) store_.erase(it);
                                 if (h_.on_delete) h_.on_delete(ev.object.is_null() ? last : ev.object);
                                 break;
                               }
                               case EventType::bookmark:
                               case EventType::error:
                                 break;
                             }
                             return !stopped_;
                           });
    if (stopped_) break;
    if (w) {
      rv = *w;
      delay = opt_.retry_delay;
      continue;
    }
    const auto& e = w.error();
    if (e.kind == ErrorKind::gone) {
      log_.info("watch {}: {}; relisting", path_, e.message);
      need_list = true;
      continue;
    }
    if (e.kind == ErrorKind::unauthorized || e.kind == ErrorKind::forbidden) return e;
    log_.warn("watch {}: {} (retrying in {} ms)", path_, e.message, delay.count());
    if (!sleep_for(delay)) break;
    delay = std::min(delay * 2, std::chrono::milliseconds(30'000));
    // A broken stream may have lost events: relist if the watch itself fails again.
    if (e.kind == ErrorKind::bad_response) need_list = true;
  }
  return Unit{};
}

}  // namespace weft::kube
