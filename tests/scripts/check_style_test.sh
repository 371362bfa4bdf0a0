#!/usr/bin/env bash
# scripts/check-style in a throw-away git repository with weft's .clang-format and .clang-tidy:
# a well-formatted change passes; a badly formatted changed line fails (and --fix mends only the
# changed lines); badly formatted lines nobody touched never fail; a one-commit clone with no
# parent passes with a note; clang-tidy fails on a bug on a changed line and ignores the same bug
# on an untouched line.
set -euo pipefail
SRC=${WEFT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

R=$TMP/repo
mkdir -p "$R/scripts" "$R/lib" "$R/build"
cp "$SRC/scripts/check-style" "$R/scripts/"
cp "$SRC/.clang-format" "$SRC/.clang-tidy" "$R/"
cd "$R"
git init -q -b main .
git config user.email test@weft.invalid
git config user.name check-style-test
export WEFT_STYLE_BASE= WEFT_JOBS=1
unset WEFT_TEST_BUILD_DIR

# A file with one old, badly formatted line that nobody will touch.
cat >lib/a.cpp <<'CPP'
#include <string>

int   untouched_badly_formatted ( int x ){return x;}

int add(int a, int b) {
  return a + b;
}
CPP
git add -A && git commit -qm base

run() { scripts/check-style --format-only "$@" >"$TMP/out" 2>&1; }

run || { cat "$TMP/out"; fail "a single root commit must pass"; }
grep -q "nothing to compare against" "$TMP/out" || { cat "$TMP/out"; fail "no note about the missing base"; }

# A well-formatted change on a branch: checked against main, passes despite the old bad line.
git checkout -q -b feature
cat >>lib/a.cpp <<'CPP'

int sub(int a, int b) { return a - b; }
CPP
run || { cat "$TMP/out"; fail "a well-formatted change must pass"; }
grep -q "uncommitted changes against HEAD" "$TMP/out" || { cat "$TMP/out"; fail "base should be HEAD"; }
git commit -qam good

# A badly formatted change fails, naming the file and showing the fix.
cat >>lib/a.cpp <<'CPP'

int   mul( int a,int b ) {return a*b;}
CPP
if run; then cat "$TMP/out"; fail "a badly formatted change must fail"; fi
grep -q "lib/a.cpp" "$TMP/out" || { cat "$TMP/out"; fail "the report does not name lib/a.cpp"; }
grep -q "merge-base with main" "$TMP/out" || { cat "$TMP/out"; fail "base should be the merge-base with main"; }
grep -q "^+int mul(int a, int b) { return a \* b; }" "$TMP/out" || { cat "$TMP/out"; fail "no suggested fix"; }

# --fix rewrites only the changed lines: the old bad line stays as it was.
scripts/check-style --fix >/dev/null
grep -q "^int mul(int a, int b) { return a \* b; }" lib/a.cpp || fail "--fix did not format the change"
grep -q "^int   untouched_badly_formatted ( int x ){return x;}" lib/a.cpp || fail "--fix touched other lines"
run || { cat "$TMP/out"; fail "after --fix the change must pass"; }
git commit -qam fixed

# On main itself (CI building main): the last commit is checked.
git checkout -q main && git merge -q --no-ff --no-edit feature
run || { cat "$TMP/out"; fail "the merged, formatted branch must pass on main"; }
grep -q "the last commit" "$TMP/out" || { cat "$TMP/out"; fail "on main the base should be HEAD~1"; }
printf '\nint  div_( int a,int b ){return a/b;}\n' >>lib/a.cpp && git commit -qam bad
if run; then cat "$TMP/out"; fail "a badly formatted last commit on main must fail"; fi

# clang-tidy on changed lines, with a compile database. main gets a file with an old finding.
git reset -q --hard HEAD~1
cat >lib/b.cpp <<'CPP'
#include <string>
#include <vector>

std::size_t old_copy(const std::vector<std::string>& v) {
  std::size_t n = 0;
  for (const std::string s : v) n += s.size();
  return n;
}
CPP
printf '[{"directory":"%s","file":"%s","command":"clang++ -std=c++20 -c %s -o /dev/null"}]\n' \
  "$R" "$R/lib/b.cpp" "$R/lib/b.cpp" >build/compile_commands.json
git add lib/b.cpp && git commit -qm "b with an old finding"
git checkout -q -b tidy
printf '// unrelated\n' >>lib/a.cpp && git commit -qam unrelated
scripts/check-style >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "b.cpp untouched: clang-tidy must pass"; }
cat >>lib/b.cpp <<'CPP'

std::size_t new_copy(const std::vector<std::string>& v) {
  std::size_t n = 0;
  for (const std::string s : v) n += s.size();
  return n;
}
CPP
if scripts/check-style >"$TMP/out" 2>&1; then cat "$TMP/out"; fail "a finding on a changed line must fail"; fi
grep -q "performance-for-range-copy" "$TMP/out" || { cat "$TMP/out"; fail "the finding is not named"; }
grep -q "b.cpp:12:" "$TMP/out" || { cat "$TMP/out"; fail "the finding should be on the new line 12"; }
grep -q "b.cpp:6:" "$TMP/out" && { cat "$TMP/out"; fail "the untouched line 6 was reported"; }
echo "check_style_test: ok"
