#pragma once
// Moving a Weave Net host to weft in place (issue 16): when the state file weaver is pointed at
// (`<db-prefix>data.db`) is Weave's BoltDB file, its bucket `top` is read (read-only,
// router/bolt_reader.hpp), every value is checked with weft's decoders (`peername`, `ring`,
// `ownedAddresses`: ipam_codec; `directPeers`: gob []string), and the values go, unchanged (they
// are the same gob values weft keeps), into weft's own state file beside it, through the
// KvStore's public API. Weave's file is never written; it stays as a backup. Library
// weft::ipam_store.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weft/base/bytes.hpp"
#include "weft/base/logger.hpp"
#include "weft/base/result.hpp"
#include "weft/ipam/ipam_codec.hpp"
#include "weft/router/kv_store.hpp"

namespace weft::ipam {

/// What Weave's bucket `top` holds, decoded and checked.
struct WeaveState {
  std::optional<PeerName> peer_name;
  std::optional<WireRing> ring;
  std::optional<OwnedMap> owned;
  std::optional<std::vector<std::string>> direct_peers;
  /// The keys weft carries over, as stored: the four above and any `flag:<name>`.
  std::map<std::string, Bytes> carried;
};

/// Reads and checks a Weave state file's contents. Errors say which part is bad.
Result<WeaveState> read_weave_state(ByteSpan file);

/// Where weft keeps its own state beside Weave's `path`: `<dir>/weft-<name>`
/// (`/weavedb/weavedata.db` -> `/weavedb/weft-weavedata.db`).
std::string weft_state_path_beside(const std::string& weave_path);

/// Opens the router's state file `path`: weft's own file as before; or, when `path` is Weave's
/// BoltDB file, weft's file beside it -- filled from Weave's the first time (an unreadable
/// Weave file is an error and nothing is written). Logs what it did, naming Weave's file as the
/// backup.
Result<router::KvStore> open_state_file(const std::string& path, Logger& log);

}  // namespace weft::ipam
