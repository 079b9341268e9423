// The Philox4x32-10 block behind core/rng.h, as host/device arithmetic: philox4x32() on the CPU and the
// CUDA kernels that regenerate random numbers (probes, masks) call these same functions, so a key gives
// the same words on every device.
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace frugal {

struct PhiloxBlock {
  uint32_t w[4];
};

// splitmix64: mixes seed and stream into the 64-bit Philox key so that nearby (seed, stream) pairs are
// unrelated.
FRUGAL_HD inline uint64_t philox_splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The key of the stream (seed, stream); compute it once per fill.
FRUGAL_HD inline uint64_t philox_key(uint64_t seed, uint64_t stream) {
  return philox_splitmix64(seed ^ philox_splitmix64(stream));
}

// One block: four 32-bit words for counter (index, step) under `key`.
FRUGAL_HD inline PhiloxBlock philox4x32_block(uint64_t key, uint64_t step, uint64_t index) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  uint32_t c0 = static_cast<uint32_t>(index), c1 = static_cast<uint32_t>(index >> 32);
  uint32_t c2 = static_cast<uint32_t>(step), c3 = static_cast<uint32_t>(step >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0, p1 = static_cast<uint64_t>(kMul1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {{c0, c1, c2, c3}};
}

}  // namespace frugal
