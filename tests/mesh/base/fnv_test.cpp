#include "weft/base/fnv.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace weft {
namespace {

std::uint64_t of(std::string_view s) { return fnv1a64({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}); }

// Reference values of FNV-1a 64 (Fowler/Noll/Vo test suite).
TEST(Fnv1a64, KnownValues) {
  EXPECT_EQ(of(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(of("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(of("foobar"), 0x85944171f73967e8ull);
}

TEST(Fnv1a64, IncrementalEqualsWhole) {
  const std::uint8_t joined[] = {0x01, 0, 0, 0, 0, 0, 0, 0x80, 'x', 'y'};
  const std::uint8_t tail[] = {'x', 'y'};
  EXPECT_EQ(Fnv1a64{}.u64le(0x8000000000000001ull).bytes(tail).value(), fnv1a64(joined));
  EXPECT_NE(Fnv1a64{}.u64le(1).bytes(tail).value(), fnv1a64(joined));
}

static_assert(Fnv1a64{}.byte('a').value() == 0xaf63dc4c8601ec8cull);

}  // namespace
}  // namespace weft
