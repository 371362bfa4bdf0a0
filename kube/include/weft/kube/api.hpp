#pragma once
// Kubernetes API results: a JSON value or a typed error (kube spec §6).
//
// The API server answers failures with a `Status` object:
//   {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
//    "message":"...","reason":"Conflict","code":409}
// Callers branch on ErrorKind (401/403/404/409/410 have their own kinds); the message is the
// server's text, or a transport error, ready for a log line.
#include <nlohmann/json.hpp>

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

template <typename T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  ApiResult(ApiError err) : v_(std::move(err)) {}      // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const ApiError& error() const { return std::get<1>(v_); }
  bool is(ErrorKind k) const { return !ok() && error().kind == k; }

 private:
  std::variant<T, ApiError> v_;
};

struct Unit {};
using ApiStatus = ApiResult<Unit>;

}  // namespace weft::kube
