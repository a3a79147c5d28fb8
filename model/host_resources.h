// What this process may use of the machine: CPU cores (how many threads LibTorch should run: the
// usable cores unless asked for fewer; asking for absurdly many is bounded, not obeyed) and memory
// (so that work which cannot fit fails with advice instead of meeting the OOM killer).
#pragma once

#include <cstddef>
#include <string>

namespace sapnet {

// The cores this process may run on (its affinity mask, bounded by a cgroup CPU quota), at least 1.
int usable_cpu_cores();

// The thread count to use for `requested` (0 = every usable core). Above 4 x the usable cores the
// count is bounded there, and `note` (if given) says so; otherwise `note` is left empty.
int bounded_threads(int requested, std::string *note = nullptr);

// Bytes this process can still allocate: the smallest of the system's available memory, what its
// address-space limit (ulimit -v) leaves and what its control groups leave (a container's or a
// Kubernetes pod's memory limit, which /proc/meminfo does not show). 0 when unknown.
size_t available_memory_bytes();

// What the control groups (v1 or v2) of a process still let it allocate, the tightest level from
// its own group up to the hierarchy's root; SIZE_MAX when none sets a limit. `cgroup_root` is where
// the hierarchy is mounted (/sys/fs/cgroup) and `self_cgroup` the text of /proc/self/cgroup,
// parameters so that a test can point them at a made-up tree.
size_t cgroup_memory_left(const std::string &cgroup_root, const std::string &self_cgroup);

// The cores a cgroup CPU quota allows (quota / period, rounded up); 0 when there is none.
int cgroup_cpu_limit(const std::string &cgroup_root, const std::string &self_cgroup);

}  // namespace sapnet
