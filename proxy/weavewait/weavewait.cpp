// weavewait (/w/w): the entrypoint wrapper the Docker proxy mounts into containers (spec §8.10).
// It waits until the container's weave interface `ethwe` exists and is up and, unless built or
// invoked as the no-multicast variant, until an IPv4 route to 224.0.0.0 exists (weave attach adds
// it last), then execs argv[1..] with the environment unchanged. There is no timeout.
//
//   weavewait [--no-multicast-route | --noop] CMD ARGS...   (or argv[0] ending in w-nomcast/w,
//                                                            w-noop/w, as the image lays them out)
//
// Kept free of libraries beyond libc so it links statically and runs in any container image.
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

bool ethwe_up() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "ethwe", IFNAMSIZ - 1);
  bool up = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) != 0;
  ::close(fd);
  return up;
}

/// An IPv4 route whose destination is 224.0.0.0 (any prefix, any table visible in /proc).
bool multicast_route() {
  std::ifstream routes("/proc/net/route");
  std::string line;
  std::getline(routes, line);
  while (std::getline(routes, line)) {
    std::istringstream ss(line);
    std::string iface, dest;
    ss >> iface >> dest;
    if (dest == "000000E0") return true;  // little-endian hex of 224.0.0.0
  }
  return false;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string self = argc > 0 ? argv[0] : "";
  bool wait_iface = !ends_with(self, "w-noop/w");
  bool wait_route = wait_iface && !ends_with(self, "w-nomcast/w");
  int first = 1;
  while (first < argc && argv[first][0] == '-' && argv[first][1] == '-') {
    std::string opt = argv[first];
    if (opt == "--no-multicast-route") {
      wait_route = false;
    } else if (opt == "--noop") {
      wait_iface = wait_route = false;
    } else if (opt == "--") {
      ++first;
      break;
    } else {
      break;  // not ours: part of the command
    }
    ++first;
  }
  if (first >= argc) {
    std::fprintf(stderr, "No command specified\n");
    return 1;
  }
  while ((wait_iface && !ethwe_up()) || (wait_route && !multicast_route())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::execvp(argv[first], argv + first);
  std::fprintf(stderr, "weavewait: exec %s: %s\n", argv[first], std::strerror(errno));
  return 1;
}
