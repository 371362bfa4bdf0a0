#include "weft/ipam/ipam_store.hpp"

#include <string>

namespace weft::ipam {

namespace {

template <typename T>
Result<void> load_key(const router::KvStore& kv, std::string_view key,
                      Result<T> (*decode)(ByteSpan), std::optional<T>& out) {
  auto v = kv.get(std::string(key));
  if (!v) return {};
  auto d = decode(*v);
  if (!d.ok()) {
    return make_error(
        "{}: IPAM state '{}' is corrupt ({}); run 'weave reset' to discard the IPAM state, or "
        "restore the file from a backup",
        kv.path(), key, d.error().message);
  }
  out = std::move(d).value();
  return {};
}

}  // namespace

Result<PersistedState> load_from(const router::KvStore& kv) {
  PersistedState p;
  WEFT_TRY_VOID(load_key<PeerName>(kv, kDbPeerName, &decode_peer_name, p.peer_name));
  WEFT_TRY_VOID(load_key<WireRing>(kv, kDbRing, &decode_ring, p.ring));
  WEFT_TRY_VOID(load_key<OwnedMap>(kv, kDbOwned, &decode_owned, p.owned));
  return p;
}

Result<void> persist_to(Allocator& alloc, router::KvStore& kv) {
  auto d = alloc.dirty();
  std::vector<std::pair<std::string, Bytes>> kvs;
  if (d.ring) {
    kvs.emplace_back(std::string(kDbPeerName), encode_peer_name(alloc.self()));
    kvs.emplace_back(std::string(kDbRing), alloc.encoded_ring());
  }
  if (d.owned) kvs.emplace_back(std::string(kDbOwned), alloc.encoded_owned());
  if (kvs.empty()) return {};
  WEFT_TRY_VOID(kv.put_many(std::move(kvs)));  // one journal record set, one sync
  alloc.clear_dirty(d);
  return {};
}

Result<void> erase_ipam_state(router::KvStore& kv) {
  for (auto key : {kDbPeerName, kDbRing, kDbOwned}) WEFT_TRY_VOID(kv.erase(std::string(key)));
  return {};
}

}  // namespace weft::ipam
