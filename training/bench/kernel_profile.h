// sapnet bench --profile: where an Engine's frames spend their device time, from the kernels a
// profiler recorded. Torch-free: the recording is profile_engine.cpp's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sapnet {

// What a kernel does, told by its name (cuDNN's, CUTLASS's and ATen's naming).
enum class KernelClass { kConvolution, kElementwise, kReduction, kCopy, kOther };
const char *kernel_class_name(KernelClass c);
KernelClass classify_kernel(const std::string &name);

// One recorded kernel run.
struct KernelRun {
  std::string name;
  uint64_t duration_ns = 0;
};

struct KernelTotal {
  std::string name;
  double calls_per_frame = 0, ms_per_frame = 0;
};

struct KernelProfile {
  std::string trace_path;  // the Chrome trace (chrome://tracing, Perfetto); empty: none written
  std::string note;        // why there is no trace
  int frames = 0;
  double ms_per_frame = 0;            // all kernels' time per frame
  double class_ms_per_frame[5] = {};  // by KernelClass
  std::vector<KernelTotal> top;       // the kernels with the most time, most first
};

// Totals per kernel name and per class over `runs` recorded for `frames` frames; the `top_n`
// kernels with the most time.
KernelProfile summarize_kernels(const std::vector<KernelRun> &runs, int frames, size_t top_n = 12);

}  // namespace sapnet
