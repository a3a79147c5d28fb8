#include <chrono>
#include <random>
#include <vector>

#include "bench/bench.h"

namespace sapnet {

BenchRow bench_engine(const BenchCase &c, std::string *device_name) {
  using Clock = std::chrono::steady_clock;
  Engine engine(c.options);
  *device_name = engine.device_name();
  engine.reset_peak_device_memory(/*release_cached=*/true);
  std::vector<uint8_t> in(size_t(c.width) * c.height * 3), out(in.size());
  std::mt19937 rng(1);
  for (auto &b : in) b = rng() % 256;
  const auto view_in = FrameView::packed(PixelFormat::kRGB, in.data(), c.width, c.height);
  const auto view_out = FrameView::packed(PixelFormat::kRGB, out.data(), c.width, c.height);
  for (int i = 0; i < c.warmup; ++i) engine.process(view_in, view_out);
  const double mib = 1024.0 * 1024.0;
  const double warmup_peak = engine.peak_device_memory() / mib;
  engine.reset_peak_device_memory();
  // Each call timed on its own; the wall time of the whole loop gives the frame rate.
  double busy_ms = 0;
  const auto start = Clock::now();
  for (int i = 0; i < c.frames; ++i) {
    const auto t0 = Clock::now();
    engine.process(view_in, view_out);
    busy_ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  BenchRow row;
  row.what = "engine";
  row.size = std::to_string(c.width) + "x" + std::to_string(c.height);
  row.precision = precision_name(engine.precision());
  row.ms_per_frame = busy_ms / c.frames;
  row.fps = c.frames / wall_s;
  row.frames_timed = c.frames;
  if (engine.device() != "cpu") {
    row.peak_mib = engine.peak_device_memory() / mib;
    row.warmup_peak_mib = warmup_peak;
  }
  if (!c.profile_dir.empty())
    row.profile =
        profile_engine(engine, view_in, view_out, c.profile_frames,
                       c.profile_dir + "/engine-" + row.size + "-" + row.precision + ".json");
  return row;
}

#if !SAPNET_HAVE_GST
bool element_bench_built() {
  return false;
}

bool element_has_cuda_memory() {
  return false;
}

BenchRow bench_element(const BenchCase &c) {
  BenchRow row;
  row.what = "element";
  row.size = std::to_string(c.width) + "x" + std::to_string(c.height);
  row.precision = precision_name(c.options.precision);
  row.note = "this sapnet was built without GStreamer";
  return row;
}
#endif

}  // namespace sapnet
