#include "host_resources.h"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace sapnet {

namespace fs = std::filesystem;

namespace {

// A "Key:   N kB" line of a /proc file, in bytes; 0 when absent.
size_t proc_kb(const char *file, const std::string &key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0 && line[key.size()] == ':') {
      std::istringstream fields(line.substr(key.size() + 1));
      size_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  return 0;
}

std::string file_text(const fs::path &path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The first number of a cgroup file; false when it is absent or says "max".
bool file_number(const fs::path &path, long long *value) {
  std::istringstream in(file_text(path));
  return bool(in >> *value);
}

// One "key value" line of a memory.stat file; 0 when absent.
long long stat_value(const fs::path &path, const std::string &key) {
  std::istringstream in(file_text(path));
  std::string name;
  long long value = 0;
  while (in >> name >> value)
    if (name == key) return value;
  return 0;
}

struct GroupLevels {
  bool v2 = false;
  std::vector<fs::path> levels;  // the process's own group first, the hierarchy's root last
};

// Where one controller's files for this process lie, as /proc/self/cgroup says: a v1 line naming
// the controller ("4:memory:/path") or else the v2 line ("0::/path"). Inside a container the
// named path may not exist under the container's view of the hierarchy: the levels that exist
// (at least its root) are the ones that apply.
GroupLevels group_levels(const std::string &root, const std::string &self_cgroup,
                         const std::string &controller) {
  fs::path v1_base, v2_base, v1_group, v2_group;
  std::istringstream lines(self_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const fs::path group = fs::path(line.substr(b + 1)).relative_path();
    if (line.compare(0, a, "0") == 0 && controllers.empty()) {
      // Pure v2 mounts the hierarchy at the root, the hybrid layout under unified/.
      v2_base = fs::exists(fs::path(root) / "cgroup.controllers") ? fs::path(root)
                                                                  : fs::path(root) / "unified";
      v2_group = group;
      continue;
    }
    std::istringstream names(controllers);
    std::string name;
    while (std::getline(names, name, ','))
      if (name == controller) {
        v1_base = fs::exists(fs::path(root) / controllers) ? fs::path(root) / controllers
                                                           : fs::path(root) / controller;
        v1_group = group;
      }
  }
  GroupLevels out;
  out.v2 = v1_base.empty();
  const fs::path base = out.v2 ? v2_base : v1_base;
  if (base.empty()) return out;
  for (fs::path group = out.v2 ? v2_group : v1_group;; group = group.parent_path()) {
    if (fs::exists(base / group)) out.levels.push_back(base / group);
    if (group.empty()) break;
  }
  return out;
}

}  // namespace

size_t cgroup_memory_left(const std::string &cgroup_root, const std::string &self_cgroup) {
  const GroupLevels g = group_levels(cgroup_root, self_cgroup, "memory");
  size_t left = SIZE_MAX;
  for (const fs::path &level : g.levels) {
    long long limit = 0, usage = 0;
    if (!file_number(level / (g.v2 ? "memory.max" : "memory.limit_in_bytes"), &limit)) continue;
    // v1 says "no limit" with a page-rounded LLONG_MAX.
    if (limit <= 0 || limit >= (1LL << 62)) continue;
    file_number(level / (g.v2 ? "memory.current" : "memory.usage_in_bytes"), &usage);
    // Inactive page cache counts as used but is given back under pressure (what Kubernetes calls
    // the working set leaves it out too).
    usage -= stat_value(level / "memory.stat", g.v2 ? "inactive_file" : "total_inactive_file");
    usage = std::max(0LL, usage);
    left = std::min(left, limit > usage ? size_t(limit - usage) : size_t(0));
  }
  return left;
}

int cgroup_cpu_limit(const std::string &cgroup_root, const std::string &self_cgroup) {
  const GroupLevels g = group_levels(cgroup_root, self_cgroup, "cpu");
  int cores = 0;
  for (const fs::path &level : g.levels) {
    long long quota = 0, period = 0;
    if (g.v2) {
      std::istringstream in(file_text(level / "cpu.max"));
      if (!(in >> quota >> period)) continue;  // "max 100000": no quota
    } else if (!file_number(level / "cpu.cfs_quota_us", &quota) ||
               !file_number(level / "cpu.cfs_period_us", &period)) {
      continue;
    }
    if (quota <= 0 || period <= 0) continue;
    const int here = int(std::max(1LL, (quota + period - 1) / period));
    cores = cores ? std::min(cores, here) : here;
  }
  return cores;
}

int usable_cpu_cores() {
  cpu_set_t set;
  int cores = sched_getaffinity(0, sizeof set, &set) == 0
                  ? std::max(1, CPU_COUNT(&set))
                  : int(std::max(1u, std::thread::hardware_concurrency()));
  const int quota = cgroup_cpu_limit("/sys/fs/cgroup", file_text("/proc/self/cgroup"));
  return quota > 0 ? std::min(cores, quota) : cores;
}

int bounded_threads(int requested, std::string *note) {
  if (note) note->clear();
  const int cores = usable_cpu_cores();
  if (requested <= 0) return cores;
  const int limit = 4 * cores;
  if (requested <= limit) return requested;
  if (note)
    *note = std::to_string(requested) + " threads asked for, " + std::to_string(cores) +
            " usable core(s) here: using " + std::to_string(limit);
  return limit;
}

size_t available_memory_bytes() {
  size_t available = proc_kb("/proc/meminfo", "MemAvailable");
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    const size_t used = proc_kb("/proc/self/status", "VmSize");
    const size_t left = limit.rlim_cur > used ? size_t(limit.rlim_cur) - used : 0;
    available = available ? std::min(available, left) : left;
  }
  const size_t group = cgroup_memory_left("/sys/fs/cgroup", file_text("/proc/self/cgroup"));
  if (group != SIZE_MAX) available = available ? std::min(available, group) : group;
  return available;
}

}  // namespace sapnet
