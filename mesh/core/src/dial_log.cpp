#include "weft/mesh/dial_log.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace weft::mesh {

DialLog::Target& DialLog::entry(TimePoint now, const std::string& address) {
  auto it = targets_.find(address);
  if (it == targets_.end()) {
    if (targets_.size() >= kMaxTargets) {
      auto oldest = std::min_element(targets_.begin(), targets_.end(), [](auto& a, auto& b) {
        return a.second.last_event < b.second.last_event;
      });
      targets_.erase(oldest);
    }
    it = targets_.emplace(address, Target{}).first;
  }
  it->second.last_event = now;
  return it->second;
}

bool DialLog::spend(TimePoint now) {
  if (!started_) {
    started_ = true;
    refilled_ = now;
  }
  auto earned = (now - refilled_) / kRefill;
  if (earned > 0) {
    tokens_ = static_cast<int>(std::min<std::int64_t>(kBurst, tokens_ + earned));
    refilled_ += earned * kRefill;
  }
  if (tokens_ == 0) {
    ++suppressed_;
    ++suppressed_total_;
    return false;
  }
  --tokens_;
  return true;
}

std::vector<std::string> DialLog::emit(TimePoint now, std::string line) {
  if (!spend(now)) return {};
  if (suppressed_ > 0) {
    line += fmt::format(" ({} more connection attempt log lines suppressed)", suppressed_);
    suppressed_ = 0;
  }
  return {std::move(line)};
}

std::vector<std::string> DialLog::attempt(TimePoint now, const std::string& address) {
  auto& t = entry(now, address);
  ++t.attempts;
  // A target that keeps failing the same way gets its attempts logged with its failures only.
  if (t.failures > 0 && now - t.logged_at < kRepeatEvery) return {};
  return emit(now, fmt::format("->[{}] attempting connection", address));
}

std::vector<std::string> DialLog::failed(TimePoint now, const std::string& address, const std::string& error) {
  auto& t = entry(now, address);
  ++t.failures;
  t.last_error = error;
  bool changed = t.logged_error != error;
  if (!changed && now - t.logged_at < kRepeatEvery) {
    ++t.unlogged_failures;
    return {};
  }
  auto line = fmt::format("->[{}] error during connection attempt: {}", address, error);
  if (t.unlogged_failures > 0) line += fmt::format(" ({} failures not logged since the last)", t.unlogged_failures);
  auto out = emit(now, std::move(line));
  if (out.empty()) {
    ++t.unlogged_failures;
    return out;
  }
  t.logged_error = error;
  t.logged_at = now;
  t.unlogged_failures = 0;
  return out;
}

void DialLog::connected(const std::string& address) { targets_.erase(address); }

}  // namespace weft::mesh
