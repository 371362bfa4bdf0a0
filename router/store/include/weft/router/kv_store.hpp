#pragma once
// The router's persistent state (`<db-prefix>data.db`): a small key-value store that survives a
// crash at any point without losing anything acknowledged, and reports a damaged file instead of
// silently resetting. Values are opaque bytes (gob, like Weave's boltdb values).
//
// Two files (issue 18, item 8: rewriting and fsyncing the whole file on every allocation made
// 2,000 allocations take 35 s):
//   - the snapshot `<path>`, written atomically (temp file, fsync, rename, fsync of the
//     directory) and checksummed:
//       file = <[8] "WEFTDB1\n"> <[4] BE count> (<[2] BE key len> key <[4] BE value len> value)*
//              <[32] SHA-256 of everything before>
//     It also holds a random generation under an internal key (never returned by get/all).
//   - the journal `<path>.journal`, append-only: <[8] "WEFTJNL1"> <[16] generation of the
//     snapshot it follows>, then one record per change:
//       <[4] BE body len> body <[32] SHA-256 of body>, body = <[1] op> <[2] BE key len> key and
//       op 1 put: <[4] BE len> value; op 2 erase: nothing; op 3 delta (a value that shares its
//       first P and last S bytes with the previous one): <[4] P> <[4] S> <[4] BE len> middle
//     put()/erase()/put_many() append and fdatasync the journal before returning (one sync per
//     call, however many keys). When the journal outgrows max(kCompactMin, kCompactRatio x the
//     snapshot), the state is compacted into a new snapshot and an empty journal.
// Loading replays the journal's intact records onto the snapshot; a torn last record (a crash
// mid-append, never acknowledged) is ignored, and so is a journal of another generation (e.g.
// left behind when the snapshot was deleted by `weave reset`).
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/result.hpp"

namespace weft::router {

class KvStore {
 public:
  static constexpr std::uint64_t kCompactMin = 4 << 20;
  static constexpr std::uint64_t kCompactRatio = 8;

  KvStore() = default;
  KvStore(KvStore&& o) noexcept;
  KvStore& operator=(KvStore&& o) noexcept;
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;
  ~KvStore();

  /// Loads `path` (and its journal). A missing file is an empty store; an unreadable or corrupt
  /// snapshot is an error whose message names the file and what to do.
  static Result<KvStore> open(std::string path);
  const std::string& path() const { return path_; }
  std::optional<Bytes> get(const std::string& key) const;
  /// Updates the key; durable on return.
  Result<void> put(const std::string& key, Bytes value);
  /// Updates several keys with one sync; durable on return (all of them or, on error, none).
  Result<void> put_many(std::vector<std::pair<std::string, Bytes>> kvs);
  Result<void> erase(const std::string& key);
  const std::map<std::string, Bytes>& all() const { return data_; }
  /// Writes a fresh snapshot and an empty journal now.
  Result<void> compact();
  /// Bytes in the journal (tests, status).
  std::uint64_t journal_bytes() const { return journal_bytes_; }

  static Bytes encode(const std::map<std::string, Bytes>& data);
  static Result<std::map<std::string, Bytes>> decode(ByteSpan file);

 private:
  struct Change {
    std::string key;
    std::optional<Bytes> value;  ///< nullopt = erase
  };
  Result<void> commit(std::vector<Change> changes);
  void apply(std::vector<Change>& changes);
  Result<void> append(const std::vector<Change>& changes, const std::vector<std::optional<Bytes>>& prev);
  void close_journal();
  std::string path_;
  std::map<std::string, Bytes> data_;
  std::array<std::uint8_t, 16> generation_{};
  int jfd_ = -1;  ///< the journal, open for appending after the first compaction of this process
  std::uint64_t journal_bytes_ = 0;
  std::uint64_t snapshot_bytes_ = 0;
};

}  // namespace weft::router
