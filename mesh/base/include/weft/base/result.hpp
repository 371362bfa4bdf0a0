#pragma once
// Result<T>: the error channel for untrusted input and environment failures (house style R8a).
// GCC 12 has no std::expected, so this is a small variant-backed stand-in. Decoders return it and
// never throw on bad bytes.
#include <fmt/format.h>

#include <string>
#include <utility>
#include <variant>

namespace weft {

/// An error with a human-readable message. Messages are complete sentences fragments that a log line
/// or an HTTP 400 body can show as they are.
struct Error {
  std::string message;
  bool operator==(const Error&) const = default;
};

template <typename... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{fmt::format(f, std::forward<Args>(args)...)};
}

/// E is the error type: Error everywhere, except where callers branch on a typed error (the
/// Kubernetes client's ApiError).
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(E err) : v_(std::move(err)) {}      // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& error() const { return std::get<1>(v_); }
  T value_or(T dflt) const { return ok() ? value() : std::move(dflt); }

 private:
  std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(E err) : err_(std::move(err)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const { return err_; }

 private:
  E err_;
  bool ok_ = true;
};

inline Result<void> ok_result() { return {}; }

}  // namespace weft

/// Propagates an error from an expression that yields a Result; evaluates to its value otherwise.
#define WEFT_TRY(var, expr)                      \
  auto var##_res_ = (expr);                      \
  if (!var##_res_.ok()) return var##_res_.error(); \
  auto var = std::move(var##_res_).value()

#define WEFT_TRY_VOID(expr)                     \
  do {                                          \
    auto weft_try_res_ = (expr);                \
    if (!weft_try_res_.ok()) return weft_try_res_.error(); \
  } while (0)
