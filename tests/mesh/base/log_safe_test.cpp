// Issue 18, item 7: values from outside are escaped and cut in log lines, every log message is
// bounded, and repeated errors from one source are rate-limited.
#include "weft/base/log_safe.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "weft/base/logger.hpp"

namespace weft {
namespace {

struct CaptureSink final : LogSink {
  std::vector<std::string> lines;
  void write(LogLevel, std::string_view, std::string_view msg) override { lines.emplace_back(msg); }
};

TEST(LogSafe, EscapesAndCutsOutsideValues) {
  EXPECT_EQ(log_safe("host-1.example"), "host-1.example");
  EXPECT_EQ(log_safe(std::string("a\x1b[31mb\nc\0d\r\x7f\xc3", 14)), "a\\x1b[31mb\\x0ac\\x00d\\x0d\\x7f\\xc3");
  auto cut = log_safe(std::string(1'000'000, 'n'));
  EXPECT_LT(cut.size(), kLogValueMax + 32);
  EXPECT_NE(cut.find("(1000000 bytes)"), std::string::npos);
}

TEST(LogSafe, EveryLogMessageIsOneBoundedLine) {
  auto sink = std::make_shared<CaptureSink>();
  Logger log("test", sink);
  // A 1 MB peer name and a nickname that forges a second log line, passed raw.
  log.error("bad peer name {}", std::string(1'000'000, 'x'));
  log.info("nickname {}", "evil\nINFO: 2026/01/01 00:00:00.000000 forged line\x1b[2J");
  ASSERT_EQ(sink->lines.size(), 2u);
  EXPECT_LE(sink->lines[0].size(), kLogLineMax + 64);
  EXPECT_EQ(sink->lines[1].find('\n'), std::string::npos);
  EXPECT_EQ(sink->lines[1].find('\x1b'), std::string::npos);
  EXPECT_NE(sink->lines[1].find("evil\\x0aINFO"), std::string::npos);
}

TEST(LogLimiter, FewLinesPerSourceThenACount) {
  LogLimiter lim(3, std::chrono::seconds(60), 4);
  TimePoint t{};
  std::uint64_t dropped = 0;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(lim.allow("10.0.0.9", t, &dropped));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(lim.allow("10.0.0.9", t));
  EXPECT_TRUE(lim.allow("10.0.0.8", t));  // another source is not affected
  EXPECT_TRUE(lim.allow("10.0.0.9", t + std::chrono::seconds(61), &dropped));
  EXPECT_EQ(dropped, 100u);
  // A flood of sources cannot grow it without bound.
  for (int i = 0; i < 1000; ++i) lim.allow(std::to_string(i), t);
}

}  // namespace
}  // namespace weft
