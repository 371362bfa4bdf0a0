#pragma once
// Runs tests/kube/fake_apiserver.py (python3) for a test: a TLS Kubernetes API server on
// 127.0.0.1 with its own CA and token, plus helpers for its /_test control interface.
#include <string>

#include "weft/kube/client.hpp"

namespace weft::kube::testing {

class FakeApiServer {
 public:
  /// Starts the server in a fresh temp dir; aborts the test binary if it does not come up.
  FakeApiServer();
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  /// A Config pointing at the server (token file and CA from its dir).
  Config config() const;
  const std::string& dir() const { return dir_; }
  int port() const { return port_; }

  /// The control interface: METHOD /_test/PATH with BODY; returns the answer's JSON.
  Json control(const std::string& method, const std::string& path, const Json& body = nullptr);
  Json put_object(const Json& obj) { return control("POST", "objects", obj); }
  Json delete_object(const std::string& resource, const std::string& ns, const std::string& name) {
    return control("DELETE", "objects/" + resource + "/" + (ns.empty() ? "_" : ns) + "/" + name);
  }
  void fail(const std::string& method, const std::string& path, int status, int count = 1) {
    control("POST", "fail", {{"method", method}, {"path", path}, {"status", status}, {"count", count}});
  }

 private:
  std::string dir_;
  int pid_ = -1;
  int port_ = 0;
};

}  // namespace weft::kube::testing
