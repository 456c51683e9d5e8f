// Unit tests of the CUDA arena plan: buffers whose lifetimes overlap never share bytes,
// buffers that do not may, inputs and outputs are never reused, and every offset is
// aligned for the device.
#include "kiln/Target/CUDA/HostProgram.h"

#include <gtest/gtest.h>

#include <climits>
#include <random>

using namespace kiln;
using Kind = DeviceBuffer::Kind;

namespace {

DeviceBuffer scratch(uint64_t bytes, unsigned first, unsigned end) {
  return {Kind::Scratch, bytes, first, end};
}

bool overlapInMemory(const DeviceBuffer &a, const DeviceBuffer &b) {
  return a.bytes && b.bytes && a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
}

bool overlapInTime(const DeviceBuffer &a, const DeviceBuffer &b) {
  auto live = [](const DeviceBuffer &d) {
    if (d.kind != Kind::Scratch)
      return std::make_pair(0u, UINT_MAX);
    return std::make_pair(d.firstLaunch, std::max(d.endLaunch, d.firstLaunch + 1));
  };
  auto [af, ae] = live(a);
  auto [bf, be] = live(b);
  return af < be && bf < ae;
}

void expectValid(const HostProgram &p) {
  for (size_t i = 0; i < p.buffers.size(); ++i) {
    const DeviceBuffer &a = p.buffers[i];
    EXPECT_EQ(a.offset % kDeviceAlignment, 0u) << "buffer " << i;
    EXPECT_LE(a.offset + a.bytes, p.arenaBytes) << "buffer " << i;
    for (size_t j = i + 1; j < p.buffers.size(); ++j)
      EXPECT_FALSE(overlapInTime(a, p.buffers[j]) && overlapInMemory(a, p.buffers[j]))
          << "buffers " << i << " and " << j << " share bytes while both live";
  }
}

} // namespace

TEST(ArenaPlan, ChainReusesMemory) {
  // a → b → c → d: each intermediate dies as the next is made, so two slots suffice.
  HostProgram p;
  p.buffers = {scratch(1000, 0, 2), scratch(1000, 1, 3), scratch(1000, 2, 4), scratch(1000, 3, 5)};
  planArena(p);
  expectValid(p);
  EXPECT_EQ(p.arenaBytes, 2 * 1024u);
  EXPECT_EQ(p.buffers[0].offset, p.buffers[2].offset);
}

TEST(ArenaPlan, InputsAndOutputsAreNeverReused) {
  HostProgram p;
  p.buffers = {{Kind::Input, 512}, {Kind::Output, 512}, scratch(512, 0, 1), scratch(512, 1, 2)};
  planArena(p);
  expectValid(p);
  EXPECT_EQ(p.arenaBytes, 3 * 512u);
  EXPECT_NE(p.buffers[2].offset, p.buffers[0].offset);
  EXPECT_NE(p.buffers[3].offset, p.buffers[1].offset);
}

TEST(ArenaPlan, UnusedScratchStillGetsBytes) {
  // Allocated before launch 1 and never used: it must not alias a buffer live there.
  HostProgram p;
  p.buffers = {scratch(256, 0, 3), scratch(256, 1, 1)};
  planArena(p);
  expectValid(p);
  EXPECT_NE(p.buffers[0].offset, p.buffers[1].offset);
}

TEST(ArenaPlan, ConstantsAreNotInTheArena) {
  HostProgram p;
  p.buffers = {{Kind::Constant, 4096, 0, 0, 768}, scratch(100, 0, 1)};
  planArena(p);
  EXPECT_EQ(p.buffers[0].offset, 768u); // untouched: an offset in the constant blob
  EXPECT_EQ(p.arenaBytes, 256u);
}

TEST(ArenaPlan, RandomProgramsNeverAlias) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    HostProgram p;
    unsigned launches = 1 + random() % 40;
    p.buffers.push_back({Kind::Input, 1 + random() % 5000});
    p.buffers.push_back({Kind::Output, 1 + random() % 5000});
    for (int i = 0, n = random() % 60; i < n; ++i) {
      unsigned first = random() % launches, end = first + random() % (launches - first + 1);
      p.buffers.push_back(scratch(random() % 3 ? 1 + random() % 100000 : 0, first, end));
    }
    planArena(p);
    expectValid(p);
    if (::testing::Test::HasFailure())
      return;
  }
}
