// sapnet bench: ms per frame, frames per second and peak GPU memory of the Engine alone and of the
// element in `videotestsrc ! sapnetderain ! fakesink`, per frame size and precision.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>

#include "commands.h"
#include "error.h"
#include "host_resources.h"
#include "model_options.h"

#ifndef SAPNET_PLUGIN_BUILD_DIR
#define SAPNET_PLUGIN_BUILD_DIR ""
#endif

namespace sapnet::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Size {
  int width = 0, height = 0;
  std::string str() const { return std::to_string(width) + "x" + std::to_string(height); }
};

Size parse_size(const std::string &s) {
  Size z;
  char x = 0;
  std::istringstream in(s);
  if (!(in >> z.width >> x >> z.height) || x != 'x' || z.width <= 0 || z.height <= 0 || !in.eof())
    throw Error("size '" + s + "': expected WIDTHxHEIGHT, e.g. 1280x720");
  return z;
}

struct BenchArgs {
  ModelOptions model;
  std::vector<std::string> sizes, precisions;
  int frames = 0, warmup = -1;
  bool engine_only = false, element_only = false, json = false;
};

struct Row {
  std::string what, size, precision, note;
  double ms = 0;
  double peak_mib = -1;  // -1: not measured
};

Row bench_engine(const BenchArgs &args, const EngineOptions &base, const Size &size,
                 const std::string &precision, int frames, int warmup, std::string *device_name) {
  EngineOptions opts = base;
  opts.precision = parse_precision(precision);
  Engine engine(opts);
  *device_name = engine.device_name();
  engine.reset_peak_device_memory();
  std::vector<uint8_t> in(size_t(size.width) * size.height * 3), out(in.size());
  std::mt19937 rng(1);
  for (auto &b : in) b = rng() % 256;
  auto view_in = FrameView::packed(PixelFormat::kRGB, in.data(), size.width, size.height);
  auto view_out = FrameView::packed(PixelFormat::kRGB, out.data(), size.width, size.height);
  for (int i = 0; i < warmup; ++i) engine.process(view_in, view_out);
  const auto t0 = Clock::now();
  for (int i = 0; i < frames; ++i) engine.process(view_in, view_out);
  Row row{"engine", size.str(), precision_name(engine.precision()), "",
          1000.0 * seconds_since(t0) / frames};
  if (engine.device() != "cpu") row.peak_mib = engine.peak_device_memory() / (1024.0 * 1024.0);
  (void)args;
  return row;
}

std::string shell_quote(const std::string &s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs gst-launch-1.0 with `buffers` frames; returns the wall time in seconds.
double run_pipeline(const EngineOptions &opts, const Size &size, const std::string &precision,
                    int buffers) {
  std::string cmd = "gst-launch-1.0 -q videotestsrc num-buffers=" + std::to_string(buffers) +
                    " ! video/x-raw,format=RGB,width=" + std::to_string(size.width) +
                    ",height=" + std::to_string(size.height) +
                    ",framerate=30/1 ! sapnetderain device=" + shell_quote(opts.device) +
                    " precision=" + precision + " stages=" + std::to_string(opts.stages);
  if (!opts.model_path.empty()) cmd += " model-location=" + shell_quote(opts.model_path);
  cmd += " ! fakesink sync=false > /dev/null";
  const auto t0 = Clock::now();
  const int status = std::system(cmd.c_str());
  const double s = seconds_since(t0);
  if (status != 0)
    throw Error("the element pipeline failed (exit status " + std::to_string(status) + "): " + cmd);
  return s;
}

// The element's steady per-frame time: the difference of two runs that differ only in the number
// of frames, so start-up (plugin and model loading, warm-up) cancels out.
Row bench_element(const EngineOptions &opts, const Size &size, const std::string &precision,
                  int frames, int warmup) {
  Row row{"element", size.str(), precision, "", 0};
  if (std::system("command -v gst-launch-1.0 > /dev/null 2>&1") != 0) {
    row.note = "gst-launch-1.0 not found";
    return row;
  }
  if (!std::getenv("GST_PLUGIN_PATH") && *SAPNET_PLUGIN_BUILD_DIR)
    setenv("GST_PLUGIN_PATH", SAPNET_PLUGIN_BUILD_DIR, 0);
  // The element has no threads property: LibTorch in the child reads OMP_NUM_THREADS instead, so
  // that both rows use the same number of CPU threads.
  if (opts.threads > 0) setenv("OMP_NUM_THREADS", std::to_string(opts.threads).c_str(), 1);
  const int base = std::max(1, warmup);
  const double short_run = run_pipeline(opts, size, precision, base);
  const double long_run = run_pipeline(opts, size, precision, base + frames);
  if (long_run <= short_run) {  // start-up jitter swamped the frames: no honest figure
    row.note = "start-up noise exceeds the time of " + std::to_string(frames) +
               " frame(s); raise --frames";
    return row;
  }
  row.ms = 1000.0 * (long_run - short_run) / frames;
  return row;
}

void run_bench(const BenchArgs &args) {
  EngineOptions base = args.model.engine_options();
  const bool cuda = base.device == "auto" ? cuda_available() : base.device != "cpu";
  if (base.device == "auto") base.device = cuda ? "cuda" : "cpu";
  std::vector<std::string> size_names = args.sizes;
  if (size_names.empty())
    size_names = cuda ? std::vector<std::string>{"640x360", "1280x720", "1920x1080"}
                      : std::vector<std::string>{"320x240"};
  std::vector<Size> sizes;
  for (auto &s : size_names) sizes.push_back(parse_size(s));
  // The benchmark's own input and output frames must fit before the Engine can say more.
  for (auto &s : sizes)
    if (const size_t avail = available_memory_bytes();
        avail && 2.0 * s.width * s.height * 3 > double(avail))
      throw Error("size " + s.str() +
                  ": its input and output frames alone need more memory than "
                  "the " +
                  std::to_string(avail >> 20) + " MiB available");
  std::vector<std::string> precisions = args.precisions;
  if (precisions.empty())
    precisions = cuda ? std::vector<std::string>{"fp32", "fp16"} : std::vector<std::string>{"fp32"};
  const int frames = args.frames > 0 ? args.frames : (cuda ? 100 : 5);
  const int warmup = args.warmup >= 0 ? args.warmup : (cuda ? 10 : 1);

  std::vector<Row> rows;
  std::string device_name = base.device;
  for (const auto &size : sizes)
    for (const auto &precision : precisions) {
      if (!args.element_only) {
        std::fprintf(stderr, "bench: engine %s %s ...\n", size.str().c_str(), precision.c_str());
        rows.push_back(bench_engine(args, base, size, precision, frames, warmup, &device_name));
      }
      if (!args.engine_only) {
        std::fprintf(stderr, "bench: element %s %s ...\n", size.str().c_str(), precision.c_str());
        rows.push_back(bench_element(base, size, precision, frames, warmup));
      }
    }

  if (args.json) {
    nlohmann::json out = {{"device", base.device},
                          {"device_name", device_name},
                          {"frames", frames},
                          {"warmup", warmup},
                          {"rows", nlohmann::json::array()}};
    for (const auto &r : rows) {
      nlohmann::json j = {{"what", r.what}, {"size", r.size}, {"precision", r.precision}};
      if (r.note.empty()) {
        j["ms_per_frame"] = r.ms;
        j["fps"] = r.ms > 0 ? 1000.0 / r.ms : 0.0;
      } else {
        j["note"] = r.note;
      }
      if (r.peak_mib >= 0) j["peak_gpu_mib"] = r.peak_mib;
      out["rows"].push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("device: %s (%s), %d frames timed after %d warm-up\n", base.device.c_str(),
              device_name.c_str(), frames, warmup);
  std::printf("%-8s %-10s %-9s %12s %9s %14s\n", "what", "size", "precision", "ms/frame", "fps",
              "peak GPU MiB");
  for (const auto &r : rows) {
    if (!r.note.empty()) {
      std::printf("%-8s %-10s %-9s %s\n", r.what.c_str(), r.size.c_str(), r.precision.c_str(),
                  r.note.c_str());
      continue;
    }
    const std::string peak = r.peak_mib >= 0 ? std::to_string(int(r.peak_mib + 0.5)) : "-";
    std::printf("%-8s %-10s %-9s %12.2f %9.2f %14s\n", r.what.c_str(), r.size.c_str(),
                r.precision.c_str(), r.ms, r.ms > 0 ? 1000.0 / r.ms : 0.0, peak.c_str());
  }
}

}  // namespace

void add_bench(CLI::App &app) {
  auto args = std::make_shared<BenchArgs>();
  auto *cmd = app.add_subcommand(
      "bench", "Time the Engine and the sapnetderain element: ms/frame, fps, peak GPU memory");
  args->model.engine.device = "auto";
  args->model.add_to(*cmd);
  cmd->add_option("--sizes", args->sizes,
                  "Frame sizes WIDTHxHEIGHT (default: 640x360 1280x720 1920x1080 on CUDA, 320x240 "
                  "on the CPU)");
  cmd->add_option("--precisions", args->precisions,
                  "Precisions to time (default: fp32 fp16 on CUDA, fp32 on the CPU)");
  cmd->add_option("--frames", args->frames, "Frames timed per row (default: 100 CUDA, 5 CPU)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--warmup", args->warmup, "Untimed frames first (default: 10 CUDA, 1 CPU)")
      ->check(CLI::Range(0, 1000000));
  auto *eo = cmd->add_flag("--engine-only", args->engine_only, "Skip the GStreamer element rows");
  cmd->add_flag("--element-only", args->element_only, "Skip the Engine rows")->excludes(eo);
  cmd->add_flag("--json", args->json, "Print JSON instead of the table");
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace sapnet::cli
