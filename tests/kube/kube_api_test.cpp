// Pure parts of the Kubernetes client: typed errors, the watch line reader, event decoding,
// query encoding and in-cluster configuration.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "weft/kube/client.hpp"
#include "weft/kube/watch_stream.hpp"

namespace weft::kube {
namespace {

TEST(KubeErrors, StatusBodiesBecomeTypedErrors) {
  auto e = error_from_response(409, R"({"kind":"Status","apiVersion":"v1","metadata":{},
    "status":"Failure","message":"Operation cannot be fulfilled on configmaps \"weave-net\": the object has been modified; please apply your changes to the latest version and try again",
    "reason":"Conflict","details":{"name":"weave-net","kind":"configmaps"},"code":409})");
  EXPECT_EQ(e.kind, ErrorKind::conflict);
  EXPECT_EQ(e.reason, "Conflict");
  EXPECT_NE(e.message.find("the object has been modified"), std::string::npos);
  EXPECT_EQ(error_from_response(401, R"({"kind":"Status","message":"Unauthorized","reason":"Unauthorized","code":401})").kind,
            ErrorKind::unauthorized);
  EXPECT_EQ(error_from_response(403, "{}").kind, ErrorKind::forbidden);
  EXPECT_EQ(error_from_response(404, "").kind, ErrorKind::not_found);
  EXPECT_EQ(error_from_response(410, "").kind, ErrorKind::gone);
  auto other = error_from_response(500, "boom\n");
  EXPECT_EQ(other.kind, ErrorKind::other);
  EXPECT_EQ(other.message, "the server answered 500: boom");
  auto ae = error_from_response(409, R"({"kind":"Status","reason":"AlreadyExists","message":"configmaps \"weave-net\" already exists","code":409})");
  EXPECT_EQ(ae.kind, ErrorKind::conflict);
  EXPECT_EQ(ae.reason, "AlreadyExists");
}

TEST(KubeWatch, LinesArriveInAnyPieces) {
  LineReader r;
  std::string stream = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\"";
  for (char c : stream) ASSERT_TRUE(r.feed(std::string_view(&c, 1)));
  EXPECT_EQ(r.next(), "{\"a\":1}");
  EXPECT_EQ(r.next(), "{\"b\":2}");
  EXPECT_EQ(r.next(), std::nullopt);
  ASSERT_TRUE(r.feed(":3}\n"));
  EXPECT_EQ(r.next(), "{\"c\":3}");
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(KubeWatch, OverlongLineIsRefused) {
  LineReader r(16);
  EXPECT_TRUE(r.feed("0123456789"));
  EXPECT_FALSE(r.feed("0123456789"));
}

TEST(KubeWatch, ParsesEventsOfTheRecordedShape) {
  auto ev = parse_watch_event(
      R"({"type":"DELETED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"node-2","resourceVersion":"1234"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.2"}]}}})");
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->type, EventType::deleted);
  EXPECT_EQ(ev->resource_version(), "1234");
  EXPECT_EQ(object_key(ev->object), "node-2");
  auto pod = parse_watch_event(
      R"({"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"default","resourceVersion":"7"}}})");
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ(object_key(pod->object), "default/p");
  auto err = parse_watch_event(
      R"J({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (10)","reason":"Expired","code":410}})J");
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->type, EventType::error);
  EXPECT_EQ(error_from_status(err->object).kind, ErrorKind::gone);
}

TEST(KubeWatch, BadEventsAreErrorsNotCrashes) {
  for (const char* bad : {"", "not json", "[]", R"({"type":"ADDED"})", R"({"type":"NOPE","object":{}})",
                          R"({"type":5,"object":{}})", R"({"type":"ADDED","object":[]})"}) {
    auto ev = parse_watch_event(bad);
    ASSERT_FALSE(ev.ok()) << bad;
    EXPECT_EQ(ev.error().kind, ErrorKind::bad_response);
  }
  EXPECT_EQ(resource_version_of(Json::parse(R"({"metadata":{"resourceVersion":5}})")), "");
  EXPECT_EQ(object_key(Json::parse(R"({"metadata":{}})")), "");
}

TEST(KubeQuery, SortedAndEscapedLikeGo) {
  EXPECT_EQ(encode_query({{"watch", "true"}, {"resourceVersion", "12"}, {"allowWatchBookmarks", "true"},
                          {"timeoutSeconds", "301"}}),
            "allowWatchBookmarks=true&resourceVersion=12&timeoutSeconds=301&watch=true");
  EXPECT_EQ(encode_query({{"labelSelector", "a=b,c in (d)"}}), "labelSelector=a%3Db%2Cc%20in%20%28d%29");
}

class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~EnvGuard() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(KubeConfig, InClusterFromEnvironment) {
  auto dir = std::filesystem::temp_directory_path() / ("weft-kube-cfg-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "abc\n";
  {
    EnvGuard h("KUBERNETES_SERVICE_HOST", nullptr), p("KUBERNETES_SERVICE_PORT", "443");
    auto c = in_cluster_config();
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined"),
              std::string::npos);
  }
  {
    EnvGuard h("KUBERNETES_SERVICE_HOST", "10.96.0.1"), p("KUBERNETES_SERVICE_PORT", "443"),
        d("WEFT_KUBE_SA_DIR", dir.c_str()), t("WEFT_KUBE_TOKEN_FILE", nullptr), a("WEFT_KUBE_CA_FILE", nullptr);
    auto c = in_cluster_config();
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->host, "10.96.0.1");
    EXPECT_EQ(c->port, 443);
    EXPECT_EQ(c->token_file, (dir / "token").string());
    EXPECT_EQ(c->ca_file, (dir / "ca.crt").string());
    ConfigOverrides o;
    o.host = "[fd00::1]";
    o.port = "6443";
    auto c6 = in_cluster_config(o);
    ASSERT_TRUE(c6.ok());
    EXPECT_EQ(c6->host, "fd00::1");
    EXPECT_EQ(c6->port, 6443);
    o.port = "64x";
    EXPECT_FALSE(in_cluster_config(o).ok());
    o.port = "70000";
    EXPECT_FALSE(in_cluster_config(o).ok());
  }
  {
    EnvGuard h("KUBERNETES_SERVICE_HOST", "10.96.0.1"), p("KUBERNETES_SERVICE_PORT", "443"),
        d("WEFT_KUBE_SA_DIR", "/nonexistent-weft"), t("WEFT_KUBE_TOKEN_FILE", nullptr);
    auto c = in_cluster_config();
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("/nonexistent-weft/token"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace weft::kube
