#pragma once
// Kubernetes API results: a JSON value or a typed error (kube spec §6).
//
// The API server answers failures with a `Status` object:
//   {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
//    "message":"...","reason":"Conflict","code":409}
// Callers branch on ErrorKind (401/403/404/409/410 have their own kinds); the message is the
// server's text, or a transport error, ready for a log line.
#include <nlohmann/json.hpp>

#include "weft/base/result.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace weft::kube {

using Json = nlohmann::json;

enum class ErrorKind {
  transport,     ///< connect/TLS/read failure or timeout; retrying may help
  bad_response,  ///< the server's answer could not be understood (not JSON, wrong shape)
  unauthorized,  ///< 401: the token was refused
  forbidden,     ///< 403: RBAC refused the verb on the resource
  not_found,     ///< 404
  conflict,      ///< 409: stale resourceVersion on update, or AlreadyExists on create
  gone,          ///< 410: the resourceVersion is too old; relist
  other,         ///< any other non-2xx status
};

std::string_view to_string(ErrorKind k);

struct ApiError {
  ErrorKind kind = ErrorKind::other;
  int status = 0;      ///< HTTP status, or the Status code of a watch ERROR event; 0 for transport
  std::string reason;  ///< Status.reason ("Conflict", "AlreadyExists", "Expired", ...) if any
  std::string message;
};

/// The typed error for HTTP STATUS with response BODY (a Status object or anything else).
ApiError error_from_response(int status, std::string_view body);
/// The typed error for a Status object (a watch ERROR event's object).
ApiError error_from_status(const Json& status_object);

/// weft::Result with the typed error, and a shorthand to branch on its kind.
template <typename T>
class [[nodiscard]] ApiResult : public Result<T, ApiError> {
 public:
  using Result<T, ApiError>::Result;
  bool is(ErrorKind k) const { return !this->ok() && this->error().kind == k; }
};

struct Unit {};
using ApiStatus = ApiResult<Unit>;

}  // namespace weft::kube
