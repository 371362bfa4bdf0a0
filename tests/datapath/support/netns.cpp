#include "netns.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace weft::datapath::test {

namespace {
bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && ci[0] != '\0';
}
}  // namespace

std::string sh(const std::string& cmd) {
  std::string full = cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) {
    return fmt::format("popen({}): {}", cmd, std::strerror(errno));
  }
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    output += buf;
  }
  const int status = ::pclose(p);
  if (status == 0) {
    return "";
  }
  return fmt::format("`{}` failed (status {}): {}", cmd, status, output);
}

NetnsOutcome run_in_private_netns(const std::function<std::string()>& body, int timeout_s) {
  if (::geteuid() != 0) {
    if (in_ci()) {
      return {NetnsOutcome::Kind::failed, "needs root for a network namespace, and CI is set"};
    }
    return {NetnsOutcome::Kind::skipped, "needs root for a network namespace"};
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return {NetnsOutcome::Kind::failed, fmt::format("pipe: {}", std::strerror(errno))};
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    return {NetnsOutcome::Kind::failed, fmt::format("fork: {}", std::strerror(errno))};
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string msg;
    if (::unshare(CLONE_NEWNET) != 0) {
      msg = fmt::format("unshare(CLONE_NEWNET): {}", std::strerror(errno));
    } else {
      msg = body();
    }
    std::size_t off = 0;
    while (off < msg.size()) {
      const ssize_t n = ::write(fds[1], msg.data() + off, msg.size() - off);
      if (n <= 0) {
        break;
      }
      off += static_cast<std::size_t>(n);
    }
    ::_exit(msg.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string msg;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  bool exited = false;
  while (!exited) {
    pollfd pfd{fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, 50) > 0) {
      char buf[1024];
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n > 0) {
        msg.append(buf, static_cast<std::size_t>(n));
      }
    }
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      exited = true;
    } else if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(fds[0]);
      return {NetnsOutcome::Kind::failed,
              fmt::format("timed out after {} s; so far: {}", timeout_s, msg)};
    }
  }
  for (;;) {
    char buf[1024];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    msg.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && msg.empty()) {
    return {NetnsOutcome::Kind::ok, ""};
  }
  if (msg.empty()) {
    msg = fmt::format("child died (status {:#x})", status);
  }
  return {NetnsOutcome::Kind::failed, msg};
}

}  // namespace weft::datapath::test
