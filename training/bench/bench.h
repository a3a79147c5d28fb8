// sapnet bench: the Engine alone and the sapnetderain element in a pipeline, timed on one frame
// size and precision. Torch-free and GStreamer-free header.
#pragma once

#include <optional>
#include <string>

#include "bench/kernel_profile.h"
#include "engine.h"

namespace sapnet {

struct BenchCase {
  EngineOptions options;  // options.precision is the precision timed
  int width = 0, height = 0;
  int frames = 1, warmup = 0;
  double max_latency_ms = 0;  // the element's latency budget (0: none)
  // The element between cudaupload and cudadownload, on GStreamer's CUDA memory (RGBA frames).
  bool cuda_memory = false;
  // Engine rows: after the timed frames, this many more under the profiler, its trace written
  // into `profile_dir` (empty: no profile).
  std::string profile_dir;
  int profile_frames = 3;
};

struct BenchRow {
  std::string what, size, precision;
  std::string note;  // why the row is not timed; empty when it is
  // Mean time of one frame as the timed code measures it: each Engine::process call, or the
  // element's own last-latency-ms after each frame.
  double ms_per_frame = 0;
  // Frames counted at the end of the pipeline (or Engine calls) over the wall time they took.
  double fps = 0;
  int frames_timed = 0;
  long long frames_processed = -1;  // the element's own count (warm-up included); -1: n/a
  double average_latency_ms = -1;   // the element's average-latency-ms (warm-up included); -1: n/a
  // Device memory LibTorch's allocator reserved: over the timed frames (what a running element
  // holds), and over the warm-up (new plans: cuDNN's algorithm trials, the graph's capture), each
  // from an allocator without earlier rows' cached blocks. -1: not measured.
  double peak_mib = -1;
  double warmup_peak_mib = -1;
  // With a latency budget: the budget, and the stages the element ran on average and at the end.
  double budget_ms = 0;
  double average_stages = -1;
  int final_stages = -1;
  std::optional<KernelProfile> profile;
};

// Throws sapnet::Error when the Engine cannot be built.
BenchRow bench_engine(const BenchCase &c, std::string *device_name);

// `frames` Engine::process calls recorded by LibTorch's profiler; the trace goes to `trace_path`.
// Where the profiler cannot run or write a trace, the profile's note says why.
KernelProfile profile_engine(Engine &engine, const FrameView &in, const FrameView &out, int frames,
                             const std::string &trace_path);

// Runs `videotestsrc ! sapnetderain ! fakesink` in this process (with cuda_memory, `videotestsrc !
// cudaupload ! sapnetderain ! cudadownload ! fakesink`, CUDA memory forced on both of its pads). A
// row with a note when this build has no GStreamer or the element is not found; throws
// sapnet::Error when the pipeline fails.
BenchRow bench_element(const BenchCase &c);

// Whether bench_element can time the element in this build.
bool element_bench_built();

// Whether this build's sapnetderain takes GStreamer's CUDA memory (its caps say so): then bench
// adds a row `videotestsrc ! cudaupload ! sapnetderain ! cudadownload ! fakesink`.
bool element_has_cuda_memory();

}  // namespace sapnet
