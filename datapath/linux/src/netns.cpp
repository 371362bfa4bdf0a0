// Network namespace handles (see netns.hpp for the threading model).
#include "weft/datapath/linux/netns.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace weft::datapath::host {
namespace {

constexpr long kNsfsMagic = 0x6e736673;  // NSFS_MAGIC from <linux/magic.h>

}  // namespace

Netns::~Netns() {
  if (fd_ >= 0) ::close(fd_);
}

Netns& Netns::operator=(Netns&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    inode_ = o.inode_;
  }
  return *this;
}

Result<Netns> Netns::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("open netns {}: {}", path, std::strerror(errno));
  struct statfs sfs {};
  if (::fstatfs(fd, &sfs) != 0) {
    int e = errno;
    ::close(fd);
    return make_error("open netns {}: {}", path, std::strerror(e));
  }
  // NB: a bind-mounted /run/netns/X and /proc/PID/ns/net both open as nsfs files; anything else
  // (a plain file, a directory) would make setns fail later with a confusing EINVAL. The type
  // check needs Linux 4.11; older kernels only get the nsfs check.
  int type = ::ioctl(fd, NS_GET_NSTYPE);
  bool is_net = static_cast<long>(sfs.f_type) == kNsfsMagic &&
                (type == CLONE_NEWNET || (type < 0 && errno == ENOTTY));
  if (!is_net) {
    ::close(fd);
    return make_error("open netns {}: not a network namespace", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return make_error("open netns {}: {}", path, std::strerror(e));
  }
  return Netns(fd, static_cast<std::uint64_t>(st.st_ino));
}

Result<Netns> Netns::current() { return open("/proc/thread-self/ns/net"); }

Result<Netns> Netns::create() {
  std::optional<Result<Netns>> out;
  // The thread unshares into the new namespace and dies; the fd it opened keeps the namespace.
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      out.emplace(make_error("create netns: unshare: {}", std::strerror(errno)));
      return;
    }
    out.emplace(current());
  });
  t.join();
  return std::move(*out);
}

Result<void> enter_netns(const Netns& ns) {
  if (!ns.valid()) return make_error("enter netns: no namespace");
  if (::setns(ns.fd(), CLONE_NEWNET) != 0)
    return make_error("enter netns: {}", std::strerror(errno));
  return {};
}

}  // namespace weft::datapath::host
