// Records an Engine's frames with LibTorch's profiler (Kineto: CUPTI's kernel records on CUDA,
// graph replays included) and sums the kernels by name and class.
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/version.h>

#include <set>

#include "bench/bench.h"
#include "error.h"

namespace sapnet {

KernelProfile profile_engine(Engine &engine, const FrameView &in, const FrameView &out, int frames,
                             const std::string &trace_path) {
  namespace prof = torch::autograd::profiler;
  namespace impl = torch::profiler::impl;
  const bool cuda = engine.device() != "cpu";
  std::set<impl::ActivityType> activities{impl::ActivityType::CPU};
  if (cuda) activities.insert(impl::ActivityType::CUDA);
  const impl::ProfilerConfig config(impl::ProfilerState::KINETO);
  // A profiler that cannot run (no CUPTI in a sandbox, say) leaves the row timed and says why.
  // Whatever fails in between, the profiler is off again before this returns or throws.
  std::unique_ptr<prof::ProfilerResult> result;
  bool enabled = false;
  auto stop_after_failure = [&] {
    if (enabled) try {
        prof::disableProfiler();
      } catch (...) {
      }
  };
  try {
    prof::prepareProfiler(config, activities);
    prof::enableProfiler(config, activities);
    enabled = true;
    for (int i = 0; i < frames; ++i) engine.process(in, out);
    enabled = false;
    result = prof::disableProfiler();
  } catch (const c10::Error &e) {
    stop_after_failure();
    KernelProfile failed;
    failed.frames = frames;
    failed.note = std::string("the profiler failed: ") + e.what_without_backtrace();
    return failed;
  } catch (...) {  // the Engine's own errors go on to the caller
    stop_after_failure();
    throw;
  }
  // LibTorch built without Kineto (Debian's 1.13) records the operators but cannot write a trace.
  std::string trace_note;
  try {
    result->save(trace_path);
  } catch (const c10::Error &e) {
    trace_note = std::string("no trace: ") + e.what_without_backtrace();
  }
  // On CUDA the device's kernels and copies; on the CPU the operators (nested ones count inside
  // their callers too, so the totals overlap there).
  std::vector<KernelRun> runs;
  for (const auto &e : result->events()) {
    if (cuda != (e.deviceType() == c10::DeviceType::CUDA)) continue;
#if TORCH_VERSION_MAJOR >= 2
    const uint64_t ns = e.durationNs();
#else
    const uint64_t ns = e.durationUs() * 1000;
#endif
    runs.push_back({e.name(), ns});
  }
  KernelProfile p = summarize_kernels(runs, frames);
  if (trace_note.empty())
    p.trace_path = trace_path;
  else
    p.note = trace_note;
  return p;
}

}  // namespace sapnet
