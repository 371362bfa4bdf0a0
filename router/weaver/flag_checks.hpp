#pragma once
// Every check of weaver's flag values that needs no I/O, run before weaver creates anything
// (state file, listeners, bridge, iptables rules): a refused flag leaves the host as it was.
// The messages are the ones the later start-up steps used to give.
#include "flags.hpp"
#include "weft/base/result.hpp"

namespace weft::weaver {

Result<void> check_flags(const Options& opts);

}  // namespace weft::weaver
