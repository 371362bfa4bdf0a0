#include "fake_apiserver.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace weft::kube::testing {

namespace fs = std::filesystem;

FakeApiServer::FakeApiServer() {
  char tmpl[] = "/tmp/weft-kubeapi-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  dir_ = tmpl;
  const char* py = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  pid_ = fork();
  if (pid_ == 0) {
    execlp(py, py, WEFT_FAKE_APISERVER, "--dir", dir_.c_str(), "--listen", "127.0.0.1:0",
           static_cast<char*>(nullptr));
    std::perror("exec python3");
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(dir_ + "/port");
    if (f >> port_ && port_ > 0) return;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "fake_apiserver.py did not start (dir %s)\n", dir_.c_str());
  std::abort();
}

FakeApiServer::~FakeApiServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int st = 0;
    for (int i = 0; i < 50 && waitpid(pid_, &st, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (i == 49) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
      }
    }
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Config FakeApiServer::config() const {
  ConfigOverrides o;
  o.host = "127.0.0.1";
  o.port = std::to_string(port_);
  o.sa_dir = dir_;
  auto c = in_cluster_config(o);
  if (!c) std::abort();
  c->timeout = std::chrono::milliseconds(10'000);
  return *c;
}

Json FakeApiServer::control(const std::string& method, const std::string& path, const Json& body) {
  // The control interface needs no token.
  Config c = config();
  c.token_file.clear();
  Client client(c);
  std::string p = "/_test/" + path;
  ApiResult<Json> r = method == "GET"      ? client.get(p)
                      : method == "DELETE" ? client.remove(p)
                      : method == "PUT"    ? client.update(p, body)
                                           : client.create(p, body.is_null() ? Json::object() : body);
  if (!r) {
    std::fprintf(stderr, "control %s %s: %s\n", method.c_str(), path.c_str(), r.error().message.c_str());
    return nullptr;
  }
  return *r;
}

}  // namespace weft::kube::testing
