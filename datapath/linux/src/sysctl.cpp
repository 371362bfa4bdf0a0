// /proc/sys helpers (see sysctl.hpp).
#include "weft/datapath/linux/sysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

namespace weft::datapath::host {
namespace {

Result<std::string> key_path(std::string_view key) {
  // NB: interface names may not contain '/', and a key must not climb out of /proc/sys.
  if (key.empty() || key.front() == '/' || key.find("..") != std::string_view::npos) {
    return make_error("sysctl {}: invalid key", key);
  }
  return "/proc/sys/" + std::string(key);
}

}  // namespace

Result<void> write_sysctl(std::string_view key, std::string_view value) {
  WEFT_TRY(path, key_path(key));
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return make_error("sysctl {}: {}", key, std::strerror(errno));
  std::string v(value);
  v += '\n';
  ssize_t n = ::write(fd, v.data(), v.size());
  int e = errno;
  ::close(fd);
  if (n < 0) return make_error("sysctl {}={}: {}", key, value, std::strerror(e));
  if (static_cast<std::size_t>(n) != v.size())
    return make_error("sysctl {}={}: short write", key, value);
  return {};
}

Result<std::string> read_sysctl(std::string_view key) {
  WEFT_TRY(path, key_path(key));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("sysctl {}: {}", key, std::strerror(errno));
  std::string out;
  std::array<char, 256> buf{};
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return make_error("sysctl {}: {}", key, std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

Result<void> set_accept_ra(std::string_view ifname, int value) {
  return write_sysctl(fmt::format("net/ipv6/conf/{}/accept_ra", ifname), std::to_string(value));
}

Result<void> set_neigh_params(std::string_view ifname, const NeighParams& p) {
  std::optional<Error> first;
  auto set = [&](std::string_view leaf, std::uint32_t v) {
    auto r = write_sysctl(fmt::format("net/ipv4/neigh/{}/{}", ifname, leaf), std::to_string(v));
    if (!r && !first) first = r.error();
  };
  set("base_reachable_time", p.base_reachable_time_s);
  set("delay_first_probe_time", p.delay_first_probe_time_s);
  set("ucast_solicit", p.ucast_solicit);
  if (first) return *first;
  return {};
}

}  // namespace weft::datapath::host
