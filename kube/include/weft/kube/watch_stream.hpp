#pragma once
// The watch stream's framing (kube spec §6.3): the body of a `?watch=true` GET is a sequence of
// JSON objects, one per line,
//   {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}\n
// delivered in arbitrary pieces (chunked transfer). Pure: no sockets.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "weft/kube/api.hpp"

namespace weft::kube {

/// Splits a byte stream into lines. A line longer than the limit is an error (the stream is then
/// unusable: the caller drops the connection).
class LineReader {
 public:
  explicit LineReader(std::size_t max_line = 16 * 1024 * 1024) : max_line_(max_line) {}
  /// Appends bytes. Returns false once a line without '\n' has grown past the limit.
  bool feed(std::string_view bytes);
  /// The next complete line without its '\n' (a trailing '\r' is dropped too); empty lines are
  /// skipped.
  std::optional<std::string> next();
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  std::size_t max_line_;
};

enum class EventType { added, modified, deleted, bookmark, error };
std::string_view to_string(EventType t);

struct WatchEvent {
  EventType type = EventType::added;
  Json object;
  /// object.metadata.resourceVersion ("" if absent)
  std::string resource_version() const;
};

/// One line of a watch stream. Errors (bad_response): not JSON, no/unknown "type", no object.
ApiResult<WatchEvent> parse_watch_event(std::string_view line);

/// metadata.resourceVersion of an object or list ("" when absent or not a string).
std::string resource_version_of(const Json& obj);
/// "<namespace>/<name>" or "<name>" for cluster-scoped objects ("" when there is no name).
std::string object_key(const Json& obj);

}  // namespace weft::kube
