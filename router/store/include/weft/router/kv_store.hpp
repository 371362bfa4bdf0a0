#pragma once
// The router's persistent state (`<db-prefix>data.db`): a small key-value file, written
// atomically (temp file, fsync, rename, fsync of the directory) and checksummed, so a crash at any
// point leaves either the old or the new state, and a damaged file is reported, never silently
// reset. Values are opaque bytes (gob, like Weave's boltdb values).
//
//   file = <[8] "WEFTDB1\n"> <[4] BE count> (<[2] BE key len> key <[4] BE value len> value)*
//          <[32] SHA-256 of everything before>
#include <map>
#include <optional>
#include <string>

#include "weft/base/bytes.hpp"
#include "weft/base/result.hpp"

namespace weft::router {

class KvStore {
 public:
  /// Loads `path`. A missing file is an empty store; an unreadable or corrupt one is an error
  /// whose message names the file and what to do.
  static Result<KvStore> open(std::string path);
  const std::string& path() const { return path_; }
  std::optional<Bytes> get(const std::string& key) const;
  /// Updates the key and writes the whole file durably before returning.
  Result<void> put(const std::string& key, Bytes value);
  Result<void> erase(const std::string& key);
  const std::map<std::string, Bytes>& all() const { return data_; }

  static Bytes encode(const std::map<std::string, Bytes>& data);
  static Result<std::map<std::string, Bytes>> decode(ByteSpan file);

 private:
  Result<void> save();
  std::string path_;
  std::map<std::string, Bytes> data_;
};

}  // namespace weft::router
