#include "weft/datapath/linux/iptables.hpp"

#include <spawn.h>
#include <sys/wait.h>

#include <fcntl.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

extern char** environ;

namespace weft::datapath::host {

namespace {

/// Runs iptables with ARGS; returns its exit status, or -1 if it could not be started.
int run_iptables(const std::vector<std::string>& args) {
  std::vector<std::string> full{"iptables", "-w"};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "iptables", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> with(std::string op, const std::vector<std::string>& spec, bool position = false) {
  std::vector<std::string> out{std::move(op), "FORWARD"};
  if (position) out.push_back("1");
  out.insert(out.end(), spec.begin(), spec.end());
  return out;
}

}  // namespace

std::vector<std::vector<std::string>> forward_rules(const std::string& bridge) {
  return {
      {"-i", "docker0", "-o", bridge, "-j", "DROP"},
      {"-i", bridge, "-o", bridge, "-j", "ACCEPT"},
      {"-i", bridge, "!", "-o", bridge, "-j", "ACCEPT"},
      {"-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
  };
}

Result<void> ensure_forward_rules(const std::string& bridge) {
  auto rules = forward_rules(bridge);
  // Insert in reverse at position 1 so they end up in order at the top.
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    int check = run_iptables(with("-C", *it));
    if (check == 0) continue;
    if (check < 0) return make_error("iptables not found: cannot add the FORWARD rules for bridge {}", bridge);
    if (run_iptables(with("-I", *it, true)) != 0) {
      return make_error("iptables -I FORWARD 1 {} failed", fmt::join(*it, " "));
    }
  }
  return {};
}

Result<void> remove_forward_rules(const std::string& bridge) {
  for (const auto& r : forward_rules(bridge)) {
    while (run_iptables(with("-C", r)) == 0) {
      if (run_iptables(with("-D", r)) != 0) return make_error("iptables -D FORWARD {} failed", fmt::join(r, " "));
    }
  }
  return {};
}

int run_iptables_in_current_netns(const std::vector<std::string>& args) { return run_iptables(args); }

}  // namespace weft::datapath::host
