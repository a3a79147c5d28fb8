// What this process may use of the machine: CPU cores (how many threads LibTorch should run: the
// usable cores unless asked for fewer; asking for absurdly many is bounded, not obeyed) and memory
// (so that work which cannot fit fails with advice instead of meeting the OOM killer).
#pragma once

#include <cstddef>
#include <string>

namespace sapnet {

// The cores this process may run on (its affinity mask), at least 1.
int usable_cpu_cores();

// The thread count to use for `requested` (0 = every usable core). Above 4 x the usable cores the
// count is bounded there, and `note` (if given) says so; otherwise `note` is left empty.
int bounded_threads(int requested, std::string *note = nullptr);

// Bytes this process can still allocate: the smaller of the system's available memory and what
// its address-space limit (ulimit -v) leaves. 0 when unknown.
size_t available_memory_bytes();

}  // namespace sapnet
