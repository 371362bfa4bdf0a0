#pragma once
// Programmer-invariant checks for the IPAM library: WEFT_CHECK (weft/base/check.hpp), which logs
// through the logging sink and aborts. Never used for anything a peer or a user can cause.
#include "weft/base/check.hpp"

#define WEFT_IPAM_CHECK(cond, ...) WEFT_CHECK(cond, __VA_ARGS__)
