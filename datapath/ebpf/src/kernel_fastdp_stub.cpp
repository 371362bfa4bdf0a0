// Built when clang or libbpf was missing: the kernel fast path is not available.
#include "weft/datapath/kernel_fastdp.hpp"

namespace weft::datapath {

Result<std::unique_ptr<KernelFastdp>> KernelFastdp::load(bool, Logger) {
  return make_error("this weaver was built without eBPF support (clang or libbpf-dev missing at build time)");
}

Result<void> KernelFastdp::cleanup(const std::string&, const std::string&) { return {}; }

}  // namespace weft::datapath
