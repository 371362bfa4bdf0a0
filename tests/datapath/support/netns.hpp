#pragma once
// Runs a test body in a private network namespace (a forked child that unshares CLONE_NEWNET),
// so integration tests can create veth pairs and change MTUs without touching the host.
//
// Rules (the brief's and house-style R15's): without root the test is skipped, unless the CI
// environment variable is set, in which case it fails. With root, any setup failure fails.
#include <fmt/format.h>

#include <functional>
#include <string>

namespace weft::datapath::test {

struct NetnsOutcome {
  enum class Kind { ok, skipped, failed };
  Kind kind = Kind::ok;
  std::string message;
};

/// Forks; the child unshares its network namespace, runs `body` and reports its result: "" for
/// success, otherwise a failure message. The child is killed after `timeout_s`.
NetnsOutcome run_in_private_netns(const std::function<std::string()>& body, int timeout_s = 60);

/// Runs a shell command; "" on success, else a message with the command and its output.
std::string sh(const std::string& cmd);

}  // namespace weft::datapath::test

/// In a gtest body: runs `body` in a private netns and turns the outcome into pass/skip/fail.
#define WEFT_RUN_IN_NETNS(...)                                                        \
  do {                                                                                \
    auto weft_outcome_ = ::weft::datapath::test::run_in_private_netns(__VA_ARGS__);   \
    if (weft_outcome_.kind == ::weft::datapath::test::NetnsOutcome::Kind::skipped) {  \
      GTEST_SKIP() << weft_outcome_.message;                                          \
    }                                                                                 \
    ASSERT_TRUE(weft_outcome_.kind == ::weft::datapath::test::NetnsOutcome::Kind::ok) \
        << weft_outcome_.message;                                                     \
  } while (0)

// Checks for use inside a netns body (which returns its failure message instead of asserting:
// gtest's state lives in the parent process).
#define NS_CHECK(cond)                                                          \
  do {                                                                          \
    if (!(cond)) {                                                              \
      return fmt::format("{}:{}: check failed: {}", __FILE__, __LINE__, #cond); \
    }                                                                           \
  } while (0)
#define NS_CHECK_EQ(a, b)                                                                       \
  do {                                                                                          \
    const auto& ns_a_ = (a);                                                                    \
    const auto& ns_b_ = (b);                                                                    \
    if (!(ns_a_ == ns_b_)) {                                                                    \
      return fmt::format("{}:{}: {} == {} failed: {} vs {}", __FILE__, __LINE__, #a, #b, ns_a_, \
                         ns_b_);                                                                \
    }                                                                                           \
  } while (0)
#define NS_TRY(expr)              \
  do {                            \
    std::string ns_err_ = (expr); \
    if (!ns_err_.empty()) {       \
      return ns_err_;             \
    }                             \
  } while (0)
