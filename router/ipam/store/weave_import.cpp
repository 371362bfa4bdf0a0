#include "weft/ipam/weave_import.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "weft/ipam/ipam_store.hpp"
#include "weft/mesh/gob.hpp"
#include "weft/router/bolt_reader.hpp"

namespace weft::ipam {

namespace {

constexpr std::string_view kTop = "top";
constexpr std::string_view kDirectPeers = "directPeers";

Result<std::vector<std::string>> decode_direct_peers(ByteSpan in) {
  WEFT_TRY(vals, gob::decode_all(in));
  if (vals.size() != 1 || vals.front().kind != gob::Kind::Slice) return make_error("not a gob []string");
  std::vector<std::string> out;
  for (const auto& e : vals.front().elems) {
    if (e.kind != gob::Kind::String) return make_error("not a gob []string");
    out.push_back(e.s);
  }
  return out;
}

template <typename T>
Result<void> take(const std::map<std::string, Bytes>& top, std::string_view key, Result<T> (*decode)(ByteSpan),
                  std::optional<T>& out, std::map<std::string, Bytes>& carried) {
  auto it = top.find(std::string(key));
  if (it == top.end()) return {};
  auto v = decode(it->second);
  if (!v) return make_error("its '{}' cannot be decoded ({})", key, v.error().message);
  out = std::move(v).value();
  carried.emplace(it->first, it->second);
  return {};
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<WeaveState> read_weave_state(ByteSpan file) {
  WEFT_TRY(db, router::read_boltdb(file));
  auto top = db.root.buckets.find(std::string(kTop));
  if (top == db.root.buckets.end()) return make_error("it has no bucket 'top'");
  const auto& kv = top->second.values;
  WeaveState s;
  WEFT_TRY_VOID(take<PeerName>(kv, kDbPeerName, &decode_peer_name, s.peer_name, s.carried));
  WEFT_TRY_VOID(take<WireRing>(kv, kDbRing, &decode_ring, s.ring, s.carried));
  WEFT_TRY_VOID(take<OwnedMap>(kv, kDbOwned, &decode_owned, s.owned, s.carried));
  WEFT_TRY_VOID(take<std::vector<std::string>>(kv, kDirectPeers, &decode_direct_peers, s.direct_peers, s.carried));
  for (const auto& [k, v] : kv) {
    if (k.starts_with("flag:")) s.carried.emplace(k, v);
  }
  if (s.ring && s.peer_name && s.ring->peer != *s.peer_name && !s.ring->entries.empty()) {
    // Weave persists its own copy of the ring; another peer's copy would not be ours to resume.
    return make_error("its ring is peer {}'s copy, not {}'s", s.ring->peer, *s.peer_name);
  }
  return s;
}

std::string weft_state_path_beside(const std::string& weave_path) {
  auto slash = weave_path.rfind('/');
  if (slash == std::string::npos) return "weft-" + weave_path;
  return weave_path.substr(0, slash + 1) + "weft-" + weave_path.substr(slash + 1);
}

Result<router::KvStore> open_state_file(const std::string& path, Logger& log) {
  Bytes head;
  {
    std::ifstream in(path, std::ios::binary);
    if (in) head.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (!router::is_boltdb(head)) return router::KvStore::open(path);
  auto ours = weft_state_path_beside(path);
  if (file_exists(ours)) {
    log.info("{} is Weave Net's state file, kept unchanged as a backup; weft's state is in {}", path, ours);
    return router::KvStore::open(ours);
  }
  auto weave = read_weave_state(head);
  if (!weave) {
    return make_error("state file {} is Weave Net's (BoltDB) but cannot be imported: {}; the file was not changed",
                      path, weave.error().message);
  }
  WEFT_TRY(store, router::KvStore::open(ours));
  for (const auto& [k, v] : weave->carried) {
    if (auto r = store.put(k, v); !r) {
      return make_error("importing Weave Net's state from {} into {}: {}", path, ours, r.error().message);
    }
  }
  std::size_t addresses = 0;
  if (weave->owned) {
    for (const auto& [id, d] : *weave->owned) addresses += d.cidrs.size();
  }
  log.info(
      "imported Weave Net's state from {} into {}: peer name {}, ring of {} entries, {} owned addresses, {} direct "
      "peers; {} is kept unchanged as a backup",
      path, ours, weave->peer_name ? weave->peer_name->str() : std::string("(none)"),
      weave->ring ? weave->ring->entries.size() : 0, addresses, weave->direct_peers ? weave->direct_peers->size() : 0,
      path);
  return store;
}

}  // namespace weft::ipam
