#!/usr/bin/env bash
# scripts/check-pure-cores: passes on this tree, and fails on each kind of impurity planted in a
# core folder of a scratch tree (and not on the look-alikes a core legitimately holds).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CHECK="$SRC/scripts/check-pure-cores"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$CHECK" "$SRC" >/dev/null || { "$CHECK" "$SRC"; echo "FAIL: the tree itself is not pure"; exit 1; }

fails=0
plant() {  # plant EXPECT(rule|ok) CODE
  local expect=$1 code=$2
  rm -rf "$tmp/root" && mkdir -p "$tmp/root/mesh/core/src"
  printf 'namespace weft {\n%s\n}  // namespace weft\n' "$code" >"$tmp/root/mesh/core/src/planted.cpp"
  local out rc=0
  out=$("$CHECK" "$tmp/root" 2>&1) || rc=$?
  if [[ $expect == ok ]]; then
    [[ $rc -eq 0 ]] || { echo "FAIL: flagged a pure line: $code"; echo "$out"; fails=$((fails + 1)); }
  elif [[ $rc -eq 0 || $out != *"$expect:"* ]]; then
    echo "FAIL: not flagged as $expect: $code"; echo "$out"; fails=$((fails + 1))
  fi
}

plant "thread" '  thread_local Bytes scratch;'
plant "thread" '#include <mutex>'
plant "thread" '  std::atomic<int> n{0};'
plant "clock" '  auto t = std::chrono::steady_clock::now();'
plant "clock" '  auto t = Clock::now();'
plant "clock" '  auto t = time(nullptr);'
plant "randomness" '  std::mt19937 rng(std::random_device{}());'
plant "randomness" '  randombytes_buf(b, 8);'
plant "randomness" '  int r = rand();'
plant "stderr" '  fmt::print(stderr, "x");'
plant "stderr" '  std::fprintf(stderr, "x");'
plant "stderr" '  std::cerr << "x";'
plant "stderr" '  printf("x");'
plant "environment" '  auto* h = std::getenv("HOME");'
plant "mutable static" '  static SurrogateChannel overflow;'
plant "mutable static" '  static std::map<int, int> cache{};'
plant "mutable static" '  static int calls = 0;'
plant "mutable global" 'int calls = 0;'
plant "mutable global" 'std::vector<Bytes> pool;'
plant "mutable global" 'static Bytes scratch;'
plant ok '  static constexpr int kMax = 64;'
plant ok '  static const int rc = init();'
plant ok 'inline constexpr std::size_t kLen = 6;'
plant ok 'const Bytes kMarker{1, 2};'
plant ok '  static Result<Cidr> parse(std::string_view s);'
plant ok 'Result<void> Ring::restore(const WireRing& persisted) {'
plant ok 'int snprintf_user(char* b) { return std::snprintf(b, 4, "x"); }'
plant ok '  // no steady_clock::now here, and nothing to stderr'
plant ok '  auto n = now + kDelay;  // injected time'
plant ok 'bool is_special(std::span<const std::uint8_t> frame);'

if [[ $fails -ne 0 ]]; then
  echo "check_pure_cores_test: $fails failure(s)"
  exit 1
fi
echo "check_pure_cores_test: ok"
