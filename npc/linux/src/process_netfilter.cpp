#include "weft/npc/process_netfilter.hpp"

#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace weft::npc {

namespace {

/// An anonymous in-memory file: stdin/stdout/stderr without pipes (no deadlock on large scripts).
class MemFile {
 public:
  explicit MemFile(const char* name) : fd_(::memfd_create(name, MFD_CLOEXEC)) {}
  ~MemFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  int fd() const { return fd_; }
  bool write_all(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return ::lseek(fd_, 0, SEEK_SET) == 0;
  }
  std::string read_all() {
    std::string out;
    if (::lseek(fd_, 0, SEEK_SET) != 0) return out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_;
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<std::string> run_program(const std::vector<std::string>& argv, const std::string& input) {
  MemFile in("npc-in"), out("npc-out"), err("npc-err");
  if (in.fd() < 0 || out.fd() < 0 || err.fd() < 0) return make_error("memfd_create: {}", std::strerror(errno));
  if (!in.write_all(input)) return make_error("cannot stage the input of {}", argv.at(0));
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.fd(), 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd(), 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd(), 2);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return make_error("cannot run {}: {}", argv[0], std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error("waitpid {}: {}", argv[0], std::strerror(errno));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error("{} failed (status {}): {}", argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                      trim(err.read_all()));
  }
  return out.read_all();
}

Result<void> ProcessNetfilter::ipset_restore(const std::string& script) {
  auto r = run_program({ipset_, "restore", "-exist"}, script);
  if (!r) return r.error();
  return {};
}

Result<void> ProcessNetfilter::iptables_restore(const std::string& script) {
  auto r = run_program({iptables_restore_, "--noflush", "--wait"}, script);
  if (!r) return r.error();
  return {};
}

Result<std::string> ProcessNetfilter::iptables_save() { return run_program({iptables_save_, "-t", "filter"}, ""); }

Result<std::vector<std::string>> ProcessNetfilter::ipset_names() {
  auto r = run_program({ipset_, "list", "-name"}, "");
  if (!r) return r.error();
  std::vector<std::string> out;
  std::size_t b = 0;
  const std::string& s = *r;
  while (b < s.size()) {
    auto e = s.find('\n', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

}  // namespace weft::npc
