// DialLog (issue 19): dial attempts and failures are logged as Weave logs them, rate-limited per
// target and overall, and counted whatever is logged.
#include "weft/mesh/dial_log.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace weft::mesh {
namespace {

const TimePoint T0{std::chrono::hours(1)};

TEST(DialLog, LogsAttemptsAndFailuresLikeWeave) {
  DialLog d;
  EXPECT_EQ(d.attempt(T0, "10.0.0.2:6783"), std::vector<std::string>{"->[10.0.0.2:6783] attempting connection"});
  EXPECT_EQ(d.failed(T0, "10.0.0.2:6783", "dial tcp 10.0.0.2:6783: connect: no route to host"),
            std::vector<std::string>{
                "->[10.0.0.2:6783] error during connection attempt: dial tcp 10.0.0.2:6783: connect: no route to host"});
  auto& t = d.targets().at("10.0.0.2:6783");
  EXPECT_EQ(t.attempts, 1u);
  EXPECT_EQ(t.failures, 1u);
}

TEST(DialLog, RepeatsOfTheSameFailureAreLoggedOncePerInterval) {
  DialLog d;
  const std::string a = "10.0.0.2:6783", err = "connect: no route to host";
  (void)d.attempt(T0, a);
  EXPECT_EQ(d.failed(T0, a, err).size(), 1u);
  // Backoff retries with the same error: counted, not logged.
  for (int i = 1; i <= 10; ++i) {
    auto t = T0 + i * std::chrono::seconds(3);
    EXPECT_TRUE(d.attempt(t, a).empty());
    EXPECT_TRUE(d.failed(t, a, err).empty());
  }
  EXPECT_EQ(d.targets().at(a).failures, 11u);
  EXPECT_EQ(d.targets().at(a).attempts, 11u);
  // A different error is news.
  auto changed = d.failed(T0 + std::chrono::seconds(40), a, "connect: connection refused");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_NE(changed[0].find("connection refused (10 failures not logged since the last)"), std::string::npos) << changed[0];
  // The same error again after the interval: logged again.
  EXPECT_TRUE(d.failed(T0 + std::chrono::seconds(60), a, "connect: connection refused").empty());
  auto later = T0 + std::chrono::seconds(40) + DialLog::kRepeatEvery;
  EXPECT_EQ(d.attempt(later, a).size(), 1u);
  EXPECT_EQ(d.failed(later, a, "connect: connection refused").size(), 1u);
  // Success clears the history: the next failure is logged at once.
  d.connected(a);
  EXPECT_FALSE(d.targets().count(a));
  (void)d.attempt(later, a);
  EXPECT_EQ(d.failed(later, a, "connect: connection refused").size(), 1u);
}

TEST(DialLog, OverallBudgetSuppressesAFloodAndSaysSo) {
  DialLog d;
  std::size_t lines = 0;
  for (int i = 0; i < 500; ++i) lines += d.attempt(T0, fmt::format("10.0.{}.{}:6783", i / 200, i % 200)).size();
  EXPECT_EQ(lines, static_cast<std::size_t>(DialLog::kBurst));
  EXPECT_EQ(d.suppressed_total(), 500u - DialLog::kBurst);
  // Once the budget refills, the next line says how many were dropped.
  auto out = d.failed(T0 + DialLog::kRefill, "10.0.0.1:6783", "i/o timeout");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("(470 more connection attempt log lines suppressed)"), std::string::npos) << out[0];
  // Every attempt was still counted.
  EXPECT_EQ(d.targets().size(), 500u);
}

TEST(DialLog, RemembersABoundedNumberOfTargets) {
  DialLog d;
  for (std::size_t i = 0; i < DialLog::kMaxTargets + 100; ++i) {
    (void)d.attempt(T0 + std::chrono::milliseconds(i), fmt::format("t{}", i));
  }
  EXPECT_EQ(d.targets().size(), DialLog::kMaxTargets);
  EXPECT_FALSE(d.targets().count("t0"));  // the quietest went first
  EXPECT_TRUE(d.targets().count(fmt::format("t{}", DialLog::kMaxTargets + 99)));
}

}  // namespace
}  // namespace weft::mesh
