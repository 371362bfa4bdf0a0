#pragma once
#include <functional>
#include <memory>
// HttpResponse: what a handler returns. Plain value type, no Beast.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::http {

inline constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
inline constexpr std::string_view kApplicationJson = "application/json";

struct HttpResponse;

/// An answer that comes later: a handler that must wait (an IPAM allocation waiting for consensus
/// or a donation) returns deferred_response(d) and calls d->resolve() when it has the answer, on
/// the server's io_context thread. Resolving before the server has bound the connection is fine.
/// If the connection is gone by then, the answer is dropped.
class Deferred {
 public:
  void resolve(HttpResponse res);
  bool resolved() const { return resolved_; }
  /// Server side: where the answer goes (called once, right after the handler returned).
  void bind(std::function<void(HttpResponse)> sink);

 private:
  std::function<void(HttpResponse)> sink_;
  std::shared_ptr<HttpResponse> early_;
  bool resolved_ = false;
};

struct HttpResponse {
  int status = 200;
  /// Sent only when the body is non-empty (Go sets no Content-Type for an empty answer).
  std::string content_type = std::string(kTextPlain);
  std::string body;
  /// Further header fields, sent in order; Content-Length, Date and Connection are the server's.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  /// Set by deferred_response(): the real answer arrives through it.
  std::shared_ptr<Deferred> deferred;
  bool operator==(const HttpResponse&) const = default;
};

/// A placeholder the server recognises: the answer will come through `d`.
HttpResponse deferred_response(std::shared_ptr<Deferred> d);

/// `status` with a text/plain body (weave's plain answers and error messages).
HttpResponse text_response(int status, std::string body);
/// 200 with an application/json body.
HttpResponse json_response(std::string body);
/// `status` with no body, e.g. 204 or gorilla's 405.
HttpResponse empty_response(int status);

/// Go's http.StatusText: "Not Found" for 404, "" for codes it does not know.
std::string_view status_text(int status);

}  // namespace weft::http
