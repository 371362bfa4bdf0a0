#pragma once
// What the connection maker's dials did, for the log and `weave status targets` (issue 19: a
// router that cannot reach its peer must say so). Weave's mesh logs every attempt and every
// failure ("->[addr] attempting connection", "->[addr] error during connection attempt: ...");
// at a thousand discovered targets that would flood the log, so DialLog rate-limits it:
//   * per target: the first attempt, and every failure whose error differs from the last one
//     logged, are logged; a repeat of the same failure only once per kRepeatEvery, with the
//     number of failures since;
//   * overall: a token bucket (kBurst lines, one more per kRefill); lines over budget are counted
//     and the count is appended to the next line that gets through.
// Every attempt and failure is counted whatever is logged (stats(), for status).
//
// Pure: takes `now`, returns the lines to log. Owned by the mesh shell's actor.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weft/base/clock.hpp"

namespace weft::mesh {

class DialLog {
 public:
  static constexpr Duration kRepeatEvery = std::chrono::minutes(5);
  static constexpr int kBurst = 30;
  static constexpr Duration kRefill = std::chrono::seconds(2);
  /// Targets remembered at most; the longest-quiet ones are forgotten first.
  static constexpr std::size_t kMaxTargets = 4096;

  struct Target {
    std::uint64_t attempts = 0;
    std::uint64_t failures = 0;  ///< consecutive failures since the last success
    std::optional<std::string> last_error;
    TimePoint last_event{};
    // What was last logged for this target.
    std::optional<std::string> logged_error;
    TimePoint logged_at{};
    std::uint64_t unlogged_failures = 0;
  };

  /// A dial of `address` starts. Returns the lines to log (maybe none).
  std::vector<std::string> attempt(TimePoint now, const std::string& address);
  /// The dial (or the handshake that followed) failed with `error`.
  std::vector<std::string> failed(TimePoint now, const std::string& address, const std::string& error);
  /// The target connected: its failure history is cleared (a later failure is logged again).
  void connected(const std::string& address);

  const std::map<std::string, Target>& targets() const { return targets_; }
  std::uint64_t suppressed_total() const { return suppressed_total_; }

 private:
  Target& entry(TimePoint now, const std::string& address);
  /// Spends a token; false (and the line is counted as suppressed) when the budget is gone.
  bool spend(TimePoint now);
  std::vector<std::string> emit(TimePoint now, std::string line);

  std::map<std::string, Target> targets_;
  int tokens_ = kBurst;
  TimePoint refilled_{};
  bool started_ = false;
  std::uint64_t suppressed_ = 0;  ///< since the last line logged
  std::uint64_t suppressed_total_ = 0;
};

}  // namespace weft::mesh
