// What a process may use: memory and CPU limits of its control groups (a container's, a Kubernetes
// pod's), read from made-up cgroup v1 and v2 trees, so that a frame too large for a pod fails with
// advice instead of meeting the cgroup OOM killer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "host_resources.h"

namespace sapnet {
namespace {

namespace fs = std::filesystem;
constexpr long long kMiB = 1 << 20;

class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sapnet-cgroup-" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void put(const std::string &file, const std::string &text) {
    fs::create_directories((root_ / file).parent_path());
    std::ofstream(root_ / file) << text << '\n';
  }
  std::string root() const { return root_.string(); }
  fs::path root_;
};

TEST_F(CgroupTree, V2PodLimitLessItsUsageWithoutReclaimableCache) {
  put("cgroup.controllers", "cpu memory");
  put("kubepods/memory.max", "max");
  put("kubepods/pod1/memory.max", std::to_string(1024 * kMiB));
  put("kubepods/pod1/memory.current", std::to_string(256 * kMiB));
  put("kubepods/pod1/memory.stat", "anon 100\ninactive_file " + std::to_string(128 * kMiB));
  EXPECT_EQ(cgroup_memory_left(root(), "0::/kubepods/pod1\n"), size_t(896 * kMiB));

  // A tighter limit higher up wins.
  put("kubepods/memory.max", std::to_string(512 * kMiB));
  put("kubepods/memory.current", "0");
  EXPECT_EQ(cgroup_memory_left(root(), "0::/kubepods/pod1\n"), size_t(512 * kMiB));

  // Used beyond the limit: nothing left (not a wrapped-around huge number).
  put("kubepods/pod1/memory.current", std::to_string(2048 * kMiB));
  EXPECT_EQ(cgroup_memory_left(root(), "0::/kubepods/pod1\n"), size_t(0));
}

TEST_F(CgroupTree, V1MemoryControllerAndItsNoLimitValue) {
  put("memory/docker/abc/memory.limit_in_bytes", std::to_string(2048 * kMiB));
  put("memory/docker/abc/memory.usage_in_bytes", std::to_string(1024 * kMiB));
  put("memory/memory.limit_in_bytes", "9223372036854771712");  // v1's "unlimited"
  const std::string self = "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n";
  EXPECT_EQ(cgroup_memory_left(root(), self), size_t(1024 * kMiB));

  put("memory/docker/abc/memory.limit_in_bytes", "9223372036854771712");
  EXPECT_EQ(cgroup_memory_left(root(), self), SIZE_MAX);
}

TEST_F(CgroupTree, InsideAContainerTheRootOfItsViewApplies) {
  // Without a cgroup namespace the container sees the host's path for its group, which does not
  // exist in its own mount: the mount's root holds the container's limit.
  put("cgroup.controllers", "memory");
  put("memory.max", std::to_string(300 * kMiB));
  put("memory.current", std::to_string(100 * kMiB));
  EXPECT_EQ(cgroup_memory_left(root(), "0::/system.slice/docker-1234.scope\n"), size_t(200 * kMiB));
}

TEST_F(CgroupTree, NoLimitsOrNoCgroupFileMeanNoBound) {
  put("cgroup.controllers", "memory");
  put("memory.max", "max");
  EXPECT_EQ(cgroup_memory_left(root(), "0::/\n"), SIZE_MAX);
  EXPECT_EQ(cgroup_memory_left(root(), ""), SIZE_MAX);
  EXPECT_EQ(cgroup_cpu_limit(root(), ""), 0);
}

TEST_F(CgroupTree, CpuQuotaRoundsUpToWholeCores) {
  put("cgroup.controllers", "cpu");
  put("kubepods/pod1/cpu.max", "150000 100000");
  EXPECT_EQ(cgroup_cpu_limit(root(), "0::/kubepods/pod1\n"), 2);
  put("kubepods/pod1/cpu.max", "max 100000");
  EXPECT_EQ(cgroup_cpu_limit(root(), "0::/kubepods/pod1\n"), 0);
  put("kubepods/pod1/cpu.max", "50000 100000");  // half a core is still one thread
  EXPECT_EQ(cgroup_cpu_limit(root(), "0::/kubepods/pod1\n"), 1);

  put("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000");
  put("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000");
  put("cpu,cpuacct/cpu.cfs_quota_us", "-1");
  put("cpu,cpuacct/cpu.cfs_period_us", "100000");
  EXPECT_EQ(cgroup_cpu_limit(root(), "5:cpu,cpuacct:/docker/abc\n0::/\n"), 3);
}

TEST(HostResources, ThisProcessHasMemoryAndAtLeastOneCore) {
  EXPECT_GT(available_memory_bytes(), size_t(0));
  EXPECT_GE(usable_cpu_cores(), 1);
}

}  // namespace
}  // namespace sapnet
