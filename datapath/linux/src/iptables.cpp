#include "weft/datapath/linux/iptables.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace weft::datapath::host {

namespace {

struct ProgramResult {
  int status = -1;  ///< exit status, -1 when it did not run or was killed
  std::string out;
  std::string err;
};

/// Runs argv[0] (looked up on PATH) with `input` on stdin; collects stdout and stderr.
Result<ProgramResult> run_program(const std::vector<std::string>& args, std::string_view input) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return make_error("pipe: {}", std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]);
    return make_error("pipe: {}", std::strerror(errno));
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    return make_error("pipe: {}", std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]), ::close(out[1]), ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]), ::close(out[0]), ::close(err[0]);
    return make_error("cannot run {}: {}", args[0], std::strerror(rc));
  }
  ProgramResult res;
  std::size_t written = 0;
  int wfd = in[1];
  if (input.empty()) {
    ::close(wfd);
    wfd = -1;
  } else {
    ::fcntl(wfd, F_SETFL, O_NONBLOCK);
  }
  int rfd[2] = {out[0], err[0]};
  while (wfd >= 0 || rfd[0] >= 0 || rfd[1] >= 0) {
    pollfd p[3];
    nfds_t n = 0;
    if (wfd >= 0) p[n++] = {wfd, POLLOUT, 0};
    for (int fd : rfd) {
      if (fd >= 0) p[n++] = {fd, POLLIN, 0};
    }
    if (::poll(p, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (nfds_t k = 0; k < n; ++k) {
      if (p[k].revents == 0) continue;
      if (p[k].fd == wfd) {
        ssize_t w = ::write(wfd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
          ::close(wfd);
          wfd = -1;
        }
        continue;
      }
      char buf[8192];
      ssize_t r = ::read(p[k].fd, buf, sizeof buf);
      if (r > 0) {
        (p[k].fd == rfd[0] ? res.out : res.err).append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        int& slot = p[k].fd == rfd[0] ? rfd[0] : rfd[1];
        ::close(slot);
        slot = -1;
      }
    }
  }
  if (wfd >= 0) ::close(wfd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error("waitpid {}: {}", args[0], std::strerror(errno));
  }
  res.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return res;
}

std::string first_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (auto nl = s.find('\n'); nl != std::string::npos) s = s.substr(0, nl) + " ...";
  return s;
}

class SystemTools final : public IptablesTools {
 public:
  Result<std::string> save() override {
    WEFT_TRY(r, run_program({"iptables-save"}, {}));
    if (r.status != 0) return make_error("iptables-save failed: {}", first_line(r.err));
    return std::move(r.out);
  }
  Result<void> restore(std::string_view batch) override {
    WEFT_TRY(r, run_program({"iptables-restore", "-w", "--noflush"}, batch));
    if (r.status != 0) return make_error("iptables-restore failed: {}", first_line(r.err));
    return {};
  }
  Result<void> ipset_restore(std::string_view batch) override {
    WEFT_TRY(r, run_program({"ipset", "restore"}, batch));
    if (r.status != 0) return make_error("ipset restore failed: {}", first_line(r.err));
    return {};
  }
};

}  // namespace

std::unique_ptr<IptablesTools> system_iptables_tools() { return std::make_unique<SystemTools>(); }

Iptables::Iptables(std::unique_ptr<IptablesTools> tools) : tools_(std::move(tools)) {}

Result<void> Iptables::run(const RulePlan& plan, bool applying) {
  Error last = make_error("iptables: no attempt made");
  for (int attempt = 0; attempt < 3; ++attempt) {
    WEFT_TRY(text, tools_->save());
    WEFT_TRY(saved, parse_save(text));
    auto batch = applying ? apply_batch(plan, saved) : remove_batch(plan, saved);
    if (batch.empty()) return {};
    auto r = tools_->restore(batch);
    if (r) return {};
    last = r.error();
  }
  return last;
}

Result<void> Iptables::apply(const RulePlan& plan) { return run(plan, true); }

Result<void> Iptables::remove(const RulePlan& plan) { return run(plan, false); }

Result<void> Iptables::set_ipset(std::string_view name, const std::vector<Cidr>& cidrs) {
  std::string tmp = fmt::format("{}-new", name);
  std::string batch = fmt::format("create {} hash:net -exist\ncreate {} hash:net -exist\nflush {}\n", name, tmp, tmp);
  for (const auto& c : cidrs) batch += fmt::format("add {} {}\n", tmp, c.network().str());
  batch += fmt::format("swap {} {}\ndestroy {}\n", tmp, name, tmp);
  return tools_->ipset_restore(batch);
}

Result<void> Iptables::destroy_ipset(std::string_view name) {
  auto r = tools_->ipset_restore(fmt::format("destroy {}\n", name));
  if (!r && r.error().message.find("does not exist") != std::string::npos) return {};
  return r;
}


}  // namespace weft::datapath::host
