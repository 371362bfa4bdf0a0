// Fuzzes the extended overlay's receive path (router/core superframe.hpp and Sleeve::on_datagram
// for a forwarder that negotiated it): the fragment parser, the reassembler and the sealed path,
// with model checks:
//   * a parsed fragment's chunk lies inside the datagram, offset + chunk <= total <= the limit,
//     index < count;
//   * a completed reassembly has exactly `total` bytes;
//   * Sleeve::on_datagram never yields a frame from garbage on the sealed forwarder (nothing the
//     fuzzer writes can carry a valid tag), and every frame it yields on the plain one has a
//     virtio_net_hdr that vnet_header_fits;
//   * build_extended_fragments of the input's frame, delivered in reverse, gives the frame back.
//
// Input: <[1] mode> <[2] BE datagram size> <datagrams: [2] BE length + bytes, repeated>
#include "fuzz_check.hpp"
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "weft/router/sleeve.hpp"
#include "weft/router/superframe.hpp"

namespace {

using namespace weft;
using namespace weft::router;


const PeerName kA(0xaabbccddee01u);
const PeerName kB(0xaabbccddee02u);
const datapath::UdpEndpoint kAddrA{Ipv4(0xc0a84d01), 6783};
const TimePoint T0{std::chrono::hours(1)};

Sleeve make_receiver(bool sealed) {
  Sleeve s(kB, 1438);
  SleeveConnection c;
  c.conn = 1;
  c.remote = kA;
  c.conn_uid = 7;
  c.remote_addr = kAddrA;
  c.extended = true;
  c.ext_aead = Aead::aes256gcm;
  if (sealed) {
    mesh::SessionKey k;
    k.bytes.fill(7);
    c.key = k;
  }
  SleeveEffects fx;
  s.add_connection(T0, c, fx);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t mode = data[0];
  const std::size_t dgram_size = (std::size_t{data[1]} << 8 | data[2]) % 2000 + 1;
  std::span<const std::uint8_t> rest(data + 3, size - 3);
  std::vector<std::span<const std::uint8_t>> dgrams;
  while (rest.size() >= 2) {
    std::size_t n = std::size_t{rest[0]} << 8 | rest[1];
    rest = rest.subspan(2);
    n = std::min(n, rest.size());
    dgrams.push_back(rest.first(n));
    rest = rest.subspan(n);
  }

  Reassembler r;
  Sleeve plain = make_receiver(false);
  Sleeve sealed = make_receiver(true);
  for (auto d : dgrams) {
    if (auto f = parse_extended_fragment(d)) {
      FUZZ_CHECK(f->chunk.data() >= d.data() && f->chunk.data() + f->chunk.size() <= d.data() + d.size());
      FUZZ_CHECK(f->offset + f->chunk.size() <= f->total && f->total <= kExtMaxTotal);
      FUZZ_CHECK(f->index < f->count);
      Reassembler::Done done;
      if (r.add(*f, done) == Reassembler::Outcome::complete) FUZZ_CHECK(done.payload.size() == f->total);
    }
    std::vector<FrameRecordView> frames;
    SleeveEffects fx;
    plain.on_datagram(T0, kAddrA, d, frames, fx);
    for (auto& fr : frames) {
      if (fr.vnet) FUZZ_CHECK(vnet_header_fits(fr.frame, *fr.vnet));
    }
    frames.clear();
    sealed.on_datagram(T0, kAddrA, d, frames, fx);
    for (auto& fr : frames) FUZZ_CHECK(!fr.vnet);  // no extended frame opens without the key
  }

  // Round trip of the first datagram's bytes as a frame.
  if (!dgrams.empty() && !dgrams[0].empty() && (mode & 1)) {
    datapath::VnetHeader vh;
    if (auto h = datapath::parse_vnet_header(dgrams[0])) vh = *h;
    Bytes out;
    std::vector<std::size_t> sizes;
    if (build_extended_fragments(out, sizes, kA, kA, kB, mode, vh, dgrams[0], dgram_size + kExtHeaderLen, nullptr)) {
      Reassembler rr;
      Reassembler::Done done;
      std::vector<std::span<const std::uint8_t>> parts;
      std::size_t off = 0;
      for (auto n : sizes) {
        parts.emplace_back(out.data() + off, n);
        off += n;
      }
      FUZZ_CHECK(off == out.size());
      int complete = 0;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        auto f = parse_extended_fragment(*it);
        FUZZ_CHECK(f.has_value());
        if (rr.add(*f, done) == Reassembler::Outcome::complete) ++complete;
      }
      FUZZ_CHECK(complete == 1);
      FUZZ_CHECK(done.payload.size() == dgrams[0].size());
      FUZZ_CHECK(std::equal(done.payload.begin(), done.payload.end(), dgrams[0].begin()));
    }
  }
  return 0;
}
