#include "weft/kube/api.hpp"

#include <fmt/format.h>

namespace weft::kube {

std::string_view to_string(ErrorKind k) {
  switch (k) {
    case ErrorKind::transport: return "transport";
    case ErrorKind::bad_response: return "bad_response";
    case ErrorKind::unauthorized: return "unauthorized";
    case ErrorKind::forbidden: return "forbidden";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::gone: return "gone";
    case ErrorKind::other: return "other";
  }
  return "other";
}

namespace {

ErrorKind kind_of(int code) {
  switch (code) {
    case 401: return ErrorKind::unauthorized;
    case 403: return ErrorKind::forbidden;
    case 404: return ErrorKind::not_found;
    case 409: return ErrorKind::conflict;
    case 410: return ErrorKind::gone;
    default: return ErrorKind::other;
  }
}

std::string str_field(const Json& o, const char* key) {
  if (!o.is_object()) return "";
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

ApiError error_from_status(const Json& st) {
  ApiError e;
  if (st.is_object()) {
    auto c = st.find("code");
    if (c != st.end() && c->is_number_integer()) e.status = c->get<int>();
  }
  e.kind = kind_of(e.status);
  e.reason = str_field(st, "reason");
  e.message = str_field(st, "message");
  if (e.message.empty()) e.message = fmt::format("status {} {}", e.status, e.reason);
  return e;
}

ApiError error_from_response(int status, std::string_view body) {
  ApiError e;
  e.status = status;
  e.kind = kind_of(status);
  auto j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && j.is_object() && str_field(j, "kind") == "Status") {
    e.reason = str_field(j, "reason");
    e.message = str_field(j, "message");
  }
  if (e.message.empty()) {
    std::string_view b = body.substr(0, 512);
    while (!b.empty() && (b.back() == '\n' || b.back() == '\r')) b.remove_suffix(1);
    e.message = b.empty() ? fmt::format("the server answered {}", status)
                          : fmt::format("the server answered {}: {}", status, b);
  }
  return e;
}

}  // namespace weft::kube
