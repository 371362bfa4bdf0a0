#include "weft/kube/watch_stream.hpp"

namespace weft::kube {

bool LineReader::feed(std::string_view bytes) {
  // Compact what has been consumed before growing.
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
  if (buf_.find('\n', pos_) == std::string::npos && buf_.size() - pos_ > max_line_) return false;
  return true;
}

std::optional<std::string> LineReader::next() {
  while (true) {
    auto nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) return std::nullopt;
    std::string line = buf_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    return line;
  }
}

std::string_view to_string(EventType t) {
  switch (t) {
    case EventType::added: return "ADDED";
    case EventType::modified: return "MODIFIED";
    case EventType::deleted: return "DELETED";
    case EventType::bookmark: return "BOOKMARK";
    case EventType::error: return "ERROR";
  }
  return "ERROR";
}

std::string resource_version_of(const Json& obj) {
  if (!obj.is_object()) return "";
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto rv = m->find("resourceVersion");
  return rv != m->end() && rv->is_string() ? rv->get<std::string>() : "";
}

std::string object_key(const Json& obj) {
  if (!obj.is_object()) return "";
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto name = m->find("name");
  if (name == m->end() || !name->is_string()) return "";
  auto ns = m->find("namespace");
  if (ns != m->end() && ns->is_string() && !ns->get<std::string>().empty()) {
    return ns->get<std::string>() + "/" + name->get<std::string>();
  }
  return name->get<std::string>();
}

std::string WatchEvent::resource_version() const { return resource_version_of(object); }

ApiResult<WatchEvent> parse_watch_event(std::string_view line) {
  auto bad = [](std::string msg) {
    return ApiError{ErrorKind::bad_response, 0, "", "watch event: " + std::move(msg)};
  };
  auto j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("not JSON");
  if (!j.is_object()) return bad("not a JSON object");
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return bad("no \"type\"");
  WatchEvent ev;
  const auto& ts = t->get_ref<const std::string&>();
  if (ts == "ADDED") ev.type = EventType::added;
  else if (ts == "MODIFIED") ev.type = EventType::modified;
  else if (ts == "DELETED") ev.type = EventType::deleted;
  else if (ts == "BOOKMARK") ev.type = EventType::bookmark;
  else if (ts == "ERROR") ev.type = EventType::error;
  else return bad("unknown type \"" + ts.substr(0, 64) + "\"");
  auto o = j.find("object");
  if (o == j.end() || !o->is_object()) return bad("no \"object\"");
  ev.object = std::move(*o);
  return ev;
}

}  // namespace weft::kube
