#!/usr/bin/env bash
# scripts/check-layers on small trees: a house whose arrows all run down passes; an arrow up, an
# arrow sideways, a circle, a folder with no floor and a core that includes Asio each fail, and the
# failure names the offending file. Then the real tree must pass.
set -euo pipefail
SRC=${WEFT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECK="$SRC/scripts/check-layers"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
put() { mkdir -p "$(dirname "$TMP/t/$1")"; printf '%s\n' "$2" >"$TMP/t/$1"; }

fresh() {
  rm -rf "$TMP/t"
  put mesh/base/CMakeLists.txt 'target_include_directories(weft_base PUBLIC include)'
  put mesh/base/include/weft/base/bytes.hpp '#pragma once'
  put http/CMakeLists.txt 'target_include_directories(weft_http_core PUBLIC core/include)
target_include_directories(weft_http PUBLIC net/include)'
  put http/core/include/weft/http/url.hpp '#include "weft/base/bytes.hpp"'
  put http/net/include/weft/http/client.hpp '#include <boost/asio/io_context.hpp>
#include "weft/http/url.hpp"'
  put proxy/CMakeLists.txt 'target_include_directories(weft_proxy_core PUBLIC core/include)'
  put proxy/core/include/weft/proxy/rewrite.hpp '#include <string>'
  put proxy/core/src/rewrite.cpp '#include "weft/proxy/rewrite.hpp"
#include "weft/http/url.hpp"'
  put router/weaver/CMakeLists.txt 'target_include_directories(weft_weaver_lib PUBLIC .)'
  put router/weaver/weaver.hpp '#include "weft/proxy/rewrite.hpp"
#include "weft/http/client.hpp"'
  put router/weaver/weaver.cpp '#include "weaver.hpp"'
  put tests/router/weaver_test.cpp '#include "weaver.hpp"'
}

expect_ok() {
  "$CHECK" --root "$TMP/t" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$1: expected a pass"; }
}
expect_fail() {  # name, text the report must contain
  if "$CHECK" --root "$TMP/t" >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "$1: expected a failure"; fi
  grep -qF -- "$2" "$TMP/out" || { cat "$TMP/out"; fail "$1: report does not mention '$2'"; }
}

fresh; expect_ok "a house whose arrows run down"
grep -q "all running down" "$TMP/out" || fail "no summary line"

fresh; put http/core/src/url.cpp '#include "weft/proxy/rewrite.hpp"'
expect_fail "http includes proxy (a floor up)" "arrow runs up: folder http"

fresh; put mesh/base/src/bytes.cpp '#include "../../../router/weaver/weaver.hpp"'
expect_fail "relative include up to router" "mesh/base/src/bytes.cpp:1 includes ../../../router/weaver/weaver.hpp"

fresh; put http/core/src/url.cpp '#include "weft/http/client.hpp"'
expect_fail "core includes net inside a folder" "arrow runs up: http/core"

fresh; put kube/CMakeLists.txt 'target_include_directories(weft_kube PUBLIC include)'
put kube/include/weft/kube/client.hpp '#pragma once'
put dns/core/src/x.cpp '#include "weft/kube/client.hpp"'
expect_fail "dns includes kube (same floor)" "arrow runs sideways: folder dns"

fresh; put common/util.hpp '#pragma once'
expect_fail "a folder with no floor" "common/util.hpp: its folder has no floor"

fresh; put proxy/core/src/bad.cpp '#include <boost/asio/io_context.hpp>'
expect_fail "a core that includes Asio" "proxy/core/src/bad.cpp:1: a core includes <boost/asio/io_context.hpp>"

"$CHECK" --root "$SRC" || fail "the weft tree itself"
echo "check_layers_test: ok"
