#include <gtest/gtest.h>

#include "vectors.hpp"
#include "weft/router/fastdp.hpp"

namespace weft::router {
namespace {

TEST(Fastdp, TunnelIdMatchesTheVector) {
  // "fastdp tunnel id src=0x123 dst=0x456: 0000000000456123"
  auto& v = test::Vectors::get().value("fastdp tunnel id src");
  auto colon = v.find(": ");
  ASSERT_NE(colon, std::string::npos);
  auto want = std::stoull(v.substr(colon + 2), nullptr, 16);
  auto id = fastdp_tunnel_id(*ShortID::from_uint(0x123), *ShortID::from_uint(0x456));
  EXPECT_EQ(id, want);
  EXPECT_EQ(fastdp_vni(*ShortID::from_uint(0x123), *ShortID::from_uint(0x456)), 0x456123u);
  EXPECT_EQ(fastdp_peers(id), (std::pair<std::uint16_t, std::uint16_t>{0x123, 0x456}));
}

}  // namespace
}  // namespace weft::router
