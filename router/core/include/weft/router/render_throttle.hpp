#pragma once
// A status page whose cost grows with the topology (/report, /status, /metrics: O(peers)) must
// not let a client that repeats the request keep the event loop, and with it the data path, busy
// (issue 18: 3,000 gossiped fake peers made each report cost ~0.3 s under the sanitizer build).
// RenderThrottle keeps the last rendering and reuses it for `factor` times what it cost to make,
// so renderings take at most 1 / (1 + factor) of the loop's time however often they are asked
// for. A cheap rendering (a small mesh) is reused for microseconds, i.e. always fresh.
#include <optional>
#include <utility>

#include "weft/base/clock.hpp"

namespace weft::router {

template <typename T>
class RenderThrottle {
 public:
  static constexpr int kDefaultFactor = 9;
  explicit RenderThrottle(int factor = kDefaultFactor) : factor_(factor) {}

  /// The cached value if it is still within its reuse window, else `render()`'s. `now` is called
  /// before and after rendering (injected, so tests can give the rendering a cost).
  template <typename Now, typename Render>
  const T& get(Now&& now, Render&& render) {
    auto start = now();
    if (value_ && start < reuse_until_) {
      ++reused_;
      return *value_;
    }
    value_.emplace(render());
    auto done = now();
    reuse_until_ = done + (done - start) * factor_;
    ++renders_;
    return *value_;
  }
  /// The state changed in a way the next request must see (e.g. a POST was handled).
  void invalidate() { value_.reset(); }
  std::uint64_t renders() const { return renders_; }
  std::uint64_t reused() const { return reused_; }

 private:
  int factor_;
  std::optional<T> value_;
  TimePoint reuse_until_{};
  std::uint64_t renders_ = 0;
  std::uint64_t reused_ = 0;
};

}  // namespace weft::router
