# Writes the bytes of IN as a C++ array (weft::datapath::kFastdpBpfObject) into OUT.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "// Generated from fastdp.bpf.o by embed.cmake.\n#include <cstddef>\n#include <cstdint>\n"
  "namespace weft::datapath {\nextern const std::uint8_t kFastdpBpfObject[];\nextern const std::size_t kFastdpBpfObjectSize;\n"
  "alignas(8) const std::uint8_t kFastdpBpfObject[] = {${body}};\n"
  "const std::size_t kFastdpBpfObjectSize = ${bytes};\n}\n")
