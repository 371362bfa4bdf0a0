// Unit tests of http/core: URL/form decoding with Go semantics, listen addresses,
// request building and gorilla/mux-like routing (404/405/301, vars, matchers).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "weft/http/listen_address.hpp"
#include "weft/http/request.hpp"
#include "weft/http/response.hpp"
#include "weft/http/router.hpp"
#include "weft/http/url.hpp"

namespace weft::http {
namespace {

using Strings = std::vector<std::string>;

// ---- percent-decoding -------------------------------------------------------------------------

TEST(QueryUnescape, DecodesPercentAndPlus) {
  EXPECT_EQ(*query_unescape("a%20b+c%2Bd"), "a b c+d");
  EXPECT_EQ(*query_unescape("%41%62%7e"), "Ab~");
  EXPECT_EQ(*query_unescape(""), "");
  EXPECT_EQ(*query_unescape("%00"), std::string(1, '\0'));
  EXPECT_EQ(*query_unescape("%ff"), std::string(1, '\xff'));
}

TEST(QueryUnescape, RejectsMalformedEscapesLikeGo) {
  auto r = query_unescape("ab%zzcd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "invalid URL escape \"%zz\"");
  EXPECT_EQ(query_unescape("abc%").error().message, "invalid URL escape \"%\"");
  EXPECT_EQ(query_unescape("abc%4").error().message, "invalid URL escape \"%4\"");
  EXPECT_EQ(query_unescape("%g1").error().message, "invalid URL escape \"%g1\"");
}

TEST(PathUnescape, KeepsPlus) {
  EXPECT_EQ(*path_unescape("/a+b/%2F/c%20d"), "/a+b///c d");
  EXPECT_FALSE(path_unescape("/bad%").ok());
}

TEST(Escape, QueryAndPath) {
  EXPECT_EQ(query_escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(query_escape("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(path_escape("/a b/c?d#e/x:y@z"), "/a%20b/c%3Fd%23e/x:y@z");
  EXPECT_EQ(*query_unescape(query_escape("{{ .Version }}")), "{{ .Version }}");
}

// ---- ParseQuery / ParseForm ------------------------------------------------------------------

TEST(ParseQuery, RepeatedKeysKeepOrder) {
  auto p = parse_query("peer=a&peer=b&replace=true&peer=c");
  EXPECT_FALSE(p.error);
  EXPECT_EQ(p.values["peer"], (Strings{"a", "b", "c"}));
  EXPECT_EQ(p.values["replace"], (Strings{"true"}));
}

TEST(ParseQuery, EmptyPairsNoValueAndEqualsInValue) {
  auto p = parse_query("&&a&b=&c=x=y&=v&");
  EXPECT_FALSE(p.error);
  EXPECT_EQ(p.values["a"], (Strings{""}));
  EXPECT_EQ(p.values["b"], (Strings{""}));
  EXPECT_EQ(p.values["c"], (Strings{"x=y"}));
  EXPECT_EQ(p.values[""], (Strings{"v"}));
}

TEST(ParseQuery, PercentAndPlusInKeysAndValues) {
  auto p = parse_query("fq%64n=db.weave.local&format=%7B%7B.Version%7D%7D&x=a+b%2Bc");
  EXPECT_EQ(p.values["fqdn"], (Strings{"db.weave.local"}));
  EXPECT_EQ(p.values["format"], (Strings{"{{.Version}}"}));
  EXPECT_EQ(p.values["x"], (Strings{"a b+c"}));
}

TEST(ParseQuery, SemicolonSeparatesLikeGo115) {
  auto p = parse_query("a=1;b=2");
  EXPECT_EQ(p.values["a"], (Strings{"1"}));
  EXPECT_EQ(p.values["b"], (Strings{"2"}));
}

TEST(ParseQuery, MalformedPairsAreSkippedAndFirstErrorKept) {
  auto p = parse_query("a=1&b=%zz&c%=3&d=4&e=%");
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->message, "invalid URL escape \"%zz\"");
  EXPECT_EQ(p.values.size(), 2U);
  EXPECT_EQ(p.values["a"], (Strings{"1"}));
  EXPECT_EQ(p.values["d"], (Strings{"4"}));
}

TEST(ParseForm, BodyFirstThenQueryForPost) {
  auto p = parse_form("POST", "application/x-www-form-urlencoded", "peer=b1&replace=true", "peer=q1");
  EXPECT_FALSE(p.error);
  EXPECT_EQ(p.values["peer"], (Strings{"b1", "q1"}));
  EXPECT_EQ(p.values["replace"], (Strings{"true"}));
}

TEST(ParseForm, PutAndPatchReadTheBodyToo) {
  EXPECT_EQ(parse_form("PUT", "application/x-www-form-urlencoded", "fqdn=x", "").values["fqdn"],
            (Strings{"x"}));
  EXPECT_EQ(parse_form("PATCH", "application/x-www-form-urlencoded", "k=v", "").values["k"], (Strings{"v"}));
}

TEST(ParseForm, MediaTypeParamsAndCaseIgnored) {
  auto p = parse_form("POST", "Application/X-WWW-Form-URLEncoded ; charset=UTF-8", "a=1", "");
  EXPECT_EQ(p.values["a"], (Strings{"1"}));
}

TEST(ParseForm, DeleteAndGetIgnoreTheBody) {
  auto d = parse_form("DELETE", "application/x-www-form-urlencoded", "fqdn=body", "fqdn=query");
  EXPECT_EQ(d.values["fqdn"], (Strings{"query"}));
  auto g = parse_form("GET", "application/x-www-form-urlencoded", "a=1", "");
  EXPECT_TRUE(g.values.empty());
}

TEST(ParseForm, OtherContentTypesIgnoreTheBody) {
  EXPECT_TRUE(parse_form("POST", "application/json", "a=1", "").values.empty());
  EXPECT_TRUE(parse_form("POST", "", "a=1", "").values.empty());
}

TEST(ParseForm, MalformedBodyPairSkipped) {
  auto p = parse_form("POST", "application/x-www-form-urlencoded", "peer=%zz&peer=ok", "");
  EXPECT_TRUE(p.error);
  EXPECT_EQ(p.values["peer"], (Strings{"ok"}));
}

// ---- clean_path ---------------------------------------------------------------------------------

TEST(CleanPath, LikeGorilla) {
  EXPECT_EQ(clean_path(""), "/");
  EXPECT_EQ(clean_path("/"), "/");
  EXPECT_EQ(clean_path("status"), "/status");
  EXPECT_EQ(clean_path("//status"), "/status");
  EXPECT_EQ(clean_path("/a/./b/../c"), "/a/c");
  EXPECT_EQ(clean_path("/a/b/"), "/a/b/");
  EXPECT_EQ(clean_path("/../.."), "/");
  EXPECT_EQ(clean_path("//"), "/");
  EXPECT_EQ(clean_path("/a//b//"), "/a/b/");
}

// ---- ListenAddress --------------------------------------------------------------------------------

TEST(ListenAddress, DialAddressTurnsWildcardsIntoLoopback) {
  EXPECT_EQ(dial_address("0.0.0.0:6784"), "127.0.0.1:6784");
  EXPECT_EQ(dial_address(":6784"), "127.0.0.1:6784");
  EXPECT_EQ(dial_address("[::]:6784"), "[::1]:6784");
  EXPECT_EQ(dial_address("10.0.0.1:6784"), "10.0.0.1:6784");
  EXPECT_EQ(dial_address("/run/weave.sock"), "/run/weave.sock");
}

TEST(ListenAddress, TcpForms) {
  auto a = ListenAddress::parse("127.0.0.1:6784");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, ListenAddress::Kind::tcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6784);
  EXPECT_EQ(a->str(), "127.0.0.1:6784");
  EXPECT_EQ(ListenAddress::parse(":6782")->host, "");
  EXPECT_EQ(ListenAddress::parse("[::1]:0")->host, "::1");
  EXPECT_EQ(ListenAddress::parse("[::1]:80")->str(), "[::1]:80");
  EXPECT_EQ(ListenAddress::parse("localhost:65535")->port, 65535);
}

TEST(ListenAddress, UnixSocket) {
  auto a = ListenAddress::parse("/run/weave/weave.sock");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, ListenAddress::Kind::unix_socket);
  EXPECT_EQ(a->path, "/run/weave/weave.sock");
  EXPECT_EQ(a->network(), "unix");
}

TEST(ListenAddress, ErrorsLikeGo) {
  EXPECT_EQ(ListenAddress::parse("127.0.0.1").error().message, "address 127.0.0.1: missing port in address");
  EXPECT_EQ(ListenAddress::parse("a:b:c").error().message, "address a:b:c: too many colons in address");
  EXPECT_EQ(ListenAddress::parse("[::1]").error().message, "address [::1]: missing port in address");
  EXPECT_EQ(ListenAddress::parse("[::1]:1:2").error().message, "address [::1]:1:2: too many colons in address");
  EXPECT_EQ(ListenAddress::parse("1.2.3.4:http").error().message, "address 1.2.3.4:http: invalid port");
  EXPECT_FALSE(ListenAddress::parse("1.2.3.4:65536").ok());
  EXPECT_FALSE(ListenAddress::parse("1.2.3.4:").ok());
  EXPECT_FALSE(ListenAddress::parse("").ok());
}

// ---- make_request -----------------------------------------------------------------------------

TEST(MakeRequest, SplitsAndDecodes) {
  auto r = make_request("POST", "/name/c%201/10.32.0.1?fqdn=a.weave.local&check-alive=true",
                        {{"content-type", "application/x-www-form-urlencoded"}}, "fqdn=b.weave.local");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path, "/name/c 1/10.32.0.1");
  EXPECT_EQ(r->raw_query, "fqdn=a.weave.local&check-alive=true");
  EXPECT_EQ(r->query_value("fqdn"), "a.weave.local");
  EXPECT_EQ(r->form_value("fqdn"), "b.weave.local");  // body first, as Go's FormValue
  EXPECT_EQ(r->form.at("fqdn"), (Strings{"b.weave.local", "a.weave.local"}));
  EXPECT_EQ(r->form_value("check-alive"), "true");
  EXPECT_EQ(r->form_value("absent"), "");
  EXPECT_EQ(r->header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r->header("X-Missing"), "");
}

TEST(MakeRequest, AbsoluteFormAndErrors) {
  auto r = make_request("GET", "http://127.0.0.1:6784/status?x=1", {}, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path, "/status");
  EXPECT_EQ(r->raw_query, "x=1");
  EXPECT_EQ(make_request("GET", "HTTP://host", {}, "")->path, "/");
  EXPECT_FALSE(make_request("GET", "status", {}, "").ok());
  EXPECT_FALSE(make_request("OPTIONS", "*", {}, "").ok());
  EXPECT_FALSE(make_request("GET", "", {}, "").ok());
  EXPECT_FALSE(make_request("GET", "/bad%zz", {}, "").ok());
  // A bad escape in the query is not fatal: the pair is dropped, as in Go.
  auto q = make_request("GET", "/x?a=%zz&b=2", {}, "");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->query.count("a"), 0U);
  EXPECT_EQ(q->query_value("b"), "2");
}

// ---- Router -----------------------------------------------------------------------------------

HttpRequest req(std::string method, std::string_view target, std::map<std::string, std::string> headers = {},
                std::string body = "") {
  auto r = make_request(std::move(method), target, std::move(headers), std::move(body));
  EXPECT_TRUE(r.ok()) << target;
  return *r;
}

Handler echo(std::string tag) {
  return [tag](const HttpRequest& r, const PathVars& vars) {
    std::string out = tag;
    for (const auto& [k, v] : vars) out += " " + k + "=" + v;
    out += " " + r.method;
    return text_response(200, out);
  };
}

Router weave_like_router() {
  Router r;
  r.handle("GET", "/status", echo("status"));
  r.handle("GET", "/status/{sub}", echo("status-sub"));
  r.handle("POST", "/connect", echo("connect"));
  r.handle("POST", "/ip/{id}", echo("alloc"));
  r.handle("POST", "/ip/{id}/{net}/{len}", echo("alloc-subnet"));
  r.handle("PUT", "/ip/{id}/{ip}/{len}", echo("claim"));
  r.handle("GET", "/ip/{id}", echo("lookup"));
  r.handle("DELETE", "/ip/{id}", echo("free-all"));
  r.handle("GET", "/report", echo("report-json")).header("Accept", "application/json");
  r.handle("GET", "/report", echo("report-format")).query("format");
  r.handle("GET", "/name", echo("name-json")).header("Accept", "application/json");
  r.handle("DELETE", "/name", echo("name-delete"));
  r.handle("GET", "/files/{rest...}", echo("files"));
  r.handle("", "/any", echo("any"));
  return r;
}

// Issue 18, item 7: a container ID (or any path value) with a NUL byte is refused before any
// handler sees it.
TEST(Router, RefusesPathValuesWithNul) {
  auto r = weave_like_router();
  auto res = r.dispatch(req("POST", "/ip/c%001"));
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("invalid id"), std::string::npos);
  EXPECT_EQ(r.dispatch(req("PUT", "/ip/c1/10.32.0.1%00/12")).status, 400);
  EXPECT_EQ(r.dispatch(req("POST", "/ip/c1")).status, 200);
}

TEST(Router, MatchesLiteralAndVars) {
  auto r = weave_like_router();
  EXPECT_EQ(r.dispatch(req("GET", "/status")).body, "status GET");
  EXPECT_EQ(r.dispatch(req("GET", "/status/peers")).body, "status-sub sub=peers GET");
  EXPECT_EQ(r.dispatch(req("POST", "/ip/c1")).body, "alloc id=c1 POST");
  EXPECT_EQ(r.dispatch(req("POST", "/ip/c1/10.40.0.0/16")).body, "alloc-subnet id=c1 len=16 net=10.40.0.0 POST");
  EXPECT_EQ(r.dispatch(req("PUT", "/ip/c1/10.32.5.5/12")).body, "claim id=c1 ip=10.32.5.5 len=12 PUT");
  EXPECT_EQ(r.dispatch(req("GET", "/ip/c1")).body, "lookup id=c1 GET");
  EXPECT_EQ(r.dispatch(req("DELETE", "/ip/c1")).body, "free-all id=c1 DELETE");
  EXPECT_EQ(r.dispatch(req("PATCH", "/any")).body, "any PATCH");
}

TEST(Router, VarsArePercentDecodedButNeverSpanSlashes) {
  auto r = weave_like_router();
  EXPECT_EQ(r.dispatch(req("GET", "/ip/weave%3Aexpose")).body, "lookup id=weave:expose GET");
  // An encoded slash decodes to '/', which then separates segments (Go matches URL.Path).
  EXPECT_EQ(r.dispatch(req("GET", "/ip/a%2Fb")).status, 404);
}

TEST(Router, UnknownPathIs404WithGoBody) {
  auto r = weave_like_router();
  auto res = r.dispatch(req("GET", "/nope"));
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, "404 page not found\n");
  EXPECT_EQ(res.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.dispatch(req("GET", "/status/a/b")).status, 404);
  EXPECT_EQ(r.dispatch(req("GET", "/status/")).status, 404);  // empty var never matches
  EXPECT_EQ(r.dispatch(req("GET", "/ip")).status, 404);
  EXPECT_EQ(r.dispatch(req("GET", "/")).status, 404);
}

TEST(Router, WrongMethodIs405EmptyBody) {
  auto r = weave_like_router();
  auto res = r.dispatch(req("GET", "/connect"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.body, "");
  EXPECT_EQ(r.dispatch(req("POST", "/status")).status, 405);
  EXPECT_EQ(r.dispatch(req("HEAD", "/status")).status, 405);
  EXPECT_EQ(r.dispatch(req("PUT", "/ip/c1")).status, 405);
}

TEST(Router, HeaderAndQueryMatchersLikeWeave) {
  auto r = weave_like_router();
  EXPECT_EQ(r.dispatch(req("GET", "/report", {{"accept", "application/json"}})).body, "report-json GET");
  EXPECT_EQ(r.dispatch(req("GET", "/report?format=%7B%7B.Version%7D%7D")).body, "report-format GET");
  EXPECT_EQ(r.dispatch(req("GET", "/report?format=")).body, "report-format GET");
  // Neither matcher: path exists only under other conditions, so gorilla says 404.
  EXPECT_EQ(r.dispatch(req("GET", "/report", {{"accept", "*/*"}})).status, 404);
  // GET /name without the JSON Accept header: the DELETE route matches the path -> 405 (spec §10).
  EXPECT_EQ(r.dispatch(req("GET", "/name")).status, 405);
  EXPECT_EQ(r.dispatch(req("GET", "/name", {{"accept", "application/json"}})).body, "name-json GET");
  EXPECT_EQ(r.dispatch(req("DELETE", "/name?fqdn=x")).body, "name-delete DELETE");
}

TEST(Router, FirstFullMatchWinsOverEarlierMethodMismatch) {
  Router r;
  r.handle("POST", "/x/{a}", echo("post"));
  r.handle("GET", "/x/{b}", echo("get"));
  EXPECT_EQ(r.dispatch(req("GET", "/x/1")).body, "get b=1 GET");
  EXPECT_EQ(r.dispatch(req("DELETE", "/x/1")).status, 405);
}

TEST(Router, RouteMethodsAreUpperCasedRequestMethodsAreNot) {
  Router r;
  r.handle("get", "/s", echo("s"));
  EXPECT_EQ(r.dispatch(req("GET", "/s")).body, "s GET");
  EXPECT_EQ(r.dispatch(req("get", "/s")).status, 405);
}

TEST(Router, RegistrationOrderDecidesOverlaps) {
  Router r;
  r.handle("GET", "/a/{v}", echo("var"));
  r.handle("GET", "/a/lit", echo("lit"));
  EXPECT_EQ(r.dispatch(req("GET", "/a/lit")).body, "var v=lit GET");
}

TEST(Router, RestWildcard) {
  auto r = weave_like_router();
  EXPECT_EQ(r.dispatch(req("GET", "/files/a/b/c.txt")).body, "files rest=a/b/c.txt GET");
  EXPECT_EQ(r.dispatch(req("GET", "/files/x")).body, "files rest=x GET");
  EXPECT_EQ(r.dispatch(req("GET", "/files/")).body, "files rest= GET");
  EXPECT_EQ(r.dispatch(req("GET", "/files")).status, 404);
}

TEST(Router, UncleanPathRedirects) {
  auto r = weave_like_router();
  auto res = r.dispatch(req("GET", "//status?x=1"));
  EXPECT_EQ(res.status, 301);
  ASSERT_EQ(res.extra_headers.size(), 1U);
  EXPECT_EQ(res.extra_headers[0].first, "Location");
  EXPECT_EQ(res.extra_headers[0].second, "/status?x=1");
  EXPECT_EQ(r.dispatch(req("GET", "/a/../status")).extra_headers[0].second, "/status");
}

TEST(Router, HandlersSeeQueryAndForm) {
  Router r;
  r.handle("POST", "/connect", [](const HttpRequest& q, const PathVars&) {
    std::string out;
    for (const auto& p : q.form.at("peer")) out += p + ",";
    return text_response(200, out + q.form_value("replace"));
  });
  auto res = r.dispatch(req("POST", "/connect?peer=q", {{"content-type", "application/x-www-form-urlencoded"}},
                            "replace=true&peer=10.0.0.1%3A6783&peer=b+c"));
  EXPECT_EQ(res.body, "10.0.0.1:6783,b c,q,true");
}

TEST(Router, BadPatternsThrowAtStartup) {
  Router r;
  auto h = echo("x");
  EXPECT_THROW(r.handle("GET", "status", h), std::invalid_argument);
  EXPECT_THROW(r.handle("GET", "/a/{id:[0-9]+}", h), std::invalid_argument);
  EXPECT_THROW(r.handle("GET", "/a/x{id}", h), std::invalid_argument);
  EXPECT_THROW(r.handle("GET", "/a/{rest...}/b", h), std::invalid_argument);
  EXPECT_THROW(r.handle("GET", "/a/{}", h), std::invalid_argument);
  EXPECT_THROW(r.handle("GET", "/a", Handler{}), std::invalid_argument);
  EXPECT_EQ(r.size(), 0U);
}

TEST(Response, Helpers) {
  EXPECT_EQ(status_text(404), "Not Found");
  EXPECT_EQ(status_text(413), "Request Entity Too Large");
  EXPECT_EQ(status_text(599), "");
  auto j = json_response("{}");
  EXPECT_EQ(j.status, 200);
  EXPECT_EQ(j.content_type, "application/json");
  EXPECT_EQ(empty_response(204).body, "");
}

}  // namespace
}  // namespace weft::http
