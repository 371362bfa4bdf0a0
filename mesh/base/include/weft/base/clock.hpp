#pragma once
// Time is injected (house style R9): cores receive `TimePoint now`; only shells read a clock.
#include <chrono>

namespace weft {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using namespace std::chrono_literals;

}  // namespace weft
