#include "host_resources.h"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace sapnet {

int usable_cpu_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
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

}  // namespace

size_t available_memory_bytes() {
  size_t available = proc_kb("/proc/meminfo", "MemAvailable");
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    const size_t used = proc_kb("/proc/self/status", "VmSize");
    const size_t left = limit.rlim_cur > used ? size_t(limit.rlim_cur) - used : 0;
    available = available ? std::min(available, left) : left;
  }
  return available;
}

}  // namespace sapnet
