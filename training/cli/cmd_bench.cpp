// sapnet bench: ms per frame, frames per second and peak GPU memory of the Engine alone and of the
// element in `videotestsrc ! sapnetderain ! fakesink`, per frame size and precision.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "bench/bench.h"
#include "commands.h"
#include "error.h"
#include "host_resources.h"
#include "model_options.h"

namespace sapnet::cli {
namespace {

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
  double max_latency_ms = 0;
  bool engine_only = false, element_only = false, json = false;
  std::string profile_dir;
  int profile_frames = 3;
};

nlohmann::json profile_json(const KernelProfile &p) {
  nlohmann::json classes, top = nlohmann::json::array();
  for (int c = 0; c < 5; ++c)
    classes[kernel_class_name(static_cast<KernelClass>(c))] = p.class_ms_per_frame[c];
  for (const auto &k : p.top)
    top.push_back({{"name", k.name},
                   {"calls_per_frame", k.calls_per_frame},
                   {"ms_per_frame", k.ms_per_frame}});
  nlohmann::json j = {{"frames", p.frames},
                      {"ms_per_frame", p.ms_per_frame},
                      {"class_ms_per_frame", classes},
                      {"top", top}};
  if (p.trace_path.empty())
    j["trace_note"] = p.note;
  else
    j["trace"] = p.trace_path;
  return j;
}

// The profile under the table: time per class, then the longest kernels (names cut short).
void print_profile(const BenchRow &r) {
  const KernelProfile &p = *r.profile;
  const std::string trace = p.trace_path.empty() ? p.note : "trace " + p.trace_path;
  std::printf("\nprofile %s %s %s (%d frames, %s): %.2f ms of recorded time per frame\n",
              r.what.c_str(), r.size.c_str(), r.precision.c_str(), p.frames, trace.c_str(),
              p.ms_per_frame);
  for (int c = 0; c < 5; ++c)
    if (p.class_ms_per_frame[c] > 0)
      std::printf("  %-12s %9.3f ms  %5.1f%%\n", kernel_class_name(static_cast<KernelClass>(c)),
                  p.class_ms_per_frame[c],
                  p.ms_per_frame > 0 ? 100 * p.class_ms_per_frame[c] / p.ms_per_frame : 0.0);
  for (const auto &k : p.top)
    std::printf("  %9.3f ms %6.1f calls  %.100s\n", k.ms_per_frame, k.calls_per_frame,
                k.name.c_str());
}

nlohmann::json row_json(const BenchRow &r) {
  nlohmann::json j = {{"what", r.what}, {"size", r.size}, {"precision", r.precision}};
  if (!r.note.empty()) {
    j["note"] = r.note;
    return j;
  }
  j["ms_per_frame"] = r.ms_per_frame;
  j["fps"] = r.fps;
  j["frames_timed"] = r.frames_timed;
  if (r.frames_processed >= 0) j["frames_processed"] = r.frames_processed;
  if (r.average_latency_ms >= 0) j["average_latency_ms"] = r.average_latency_ms;
  if (r.peak_mib >= 0) j["peak_gpu_mib"] = r.peak_mib;
  if (r.warmup_peak_mib >= 0) j["warmup_peak_gpu_mib"] = r.warmup_peak_mib;
  if (r.profile) j["profile"] = profile_json(*r.profile);
  if (r.budget_ms > 0) {
    j["max_latency_ms"] = r.budget_ms;
    j["average_stages"] = r.average_stages;
    j["final_stages"] = r.final_stages;
  }
  return j;
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
                  ": its input and output frames alone need more memory than the " +
                  std::to_string(avail >> 20) + " MiB available");
  std::vector<std::string> precisions = args.precisions;
  if (precisions.empty())
    precisions = cuda ? std::vector<std::string>{"fp32", "fp16"} : std::vector<std::string>{"fp32"};
  const int frames = args.frames > 0 ? args.frames : (cuda ? 100 : 5);
  const int warmup = args.warmup >= 0 ? args.warmup : (cuda ? 10 : 1);
  if (!args.profile_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(args.profile_dir, ec);
    if (ec)
      throw Error(args.profile_dir + ": cannot create the profile folder (" + ec.message() + ")");
  }

  std::vector<BenchRow> rows;
  std::string device_name = base.device;
  for (const auto &size : sizes)
    for (const auto &precision : precisions) {
      BenchCase c{base, size.width, size.height, frames, warmup};
      c.options.precision = parse_precision(precision);
      c.profile_dir = args.profile_dir;
      c.profile_frames = args.profile_frames;
      if (!args.element_only) {
        std::fprintf(stderr, "bench: engine %s %s ...\n", size.str().c_str(), precision.c_str());
        rows.push_back(bench_engine(c, &device_name));
      }
      if (!args.engine_only) {
        std::fprintf(stderr, "bench: element %s %s ...\n", size.str().c_str(), precision.c_str());
        rows.push_back(bench_element(c));
        if (element_has_cuda_memory()) {
          std::fprintf(stderr, "bench: element on CUDA memory %s %s ...\n", size.str().c_str(),
                       precision.c_str());
          BenchCase m = c;
          m.cuda_memory = true;
          rows.push_back(bench_element(m));
        }
        if (args.max_latency_ms > 0) {
          std::fprintf(stderr, "bench: element %s %s, max-latency-ms %g ...\n", size.str().c_str(),
                       precision.c_str(), args.max_latency_ms);
          c.max_latency_ms = args.max_latency_ms;
          rows.push_back(bench_element(c));
        }
      }
    }

  if (args.json) {
    nlohmann::json out = {{"device", base.device},
                          {"device_name", device_name},
                          {"frames", frames},
                          {"warmup", warmup},
                          {"rows", nlohmann::json::array()}};
    for (const auto &r : rows) out["rows"].push_back(row_json(r));
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("device: %s (%s), %d frames timed after %d warm-up\n", base.device.c_str(),
              device_name.c_str(), frames, warmup);
  std::printf("%-15s %-10s %-9s %12s %9s %14s %14s\n", "what", "size", "precision", "ms/frame",
              "fps", "peak GPU MiB", "warm-up MiB");
  for (const auto &r : rows) {
    if (!r.note.empty()) {
      std::printf("%-15s %-10s %-9s %s\n", r.what.c_str(), r.size.c_str(), r.precision.c_str(),
                  r.note.c_str());
      continue;
    }
    const auto mib = [](double v) { return v >= 0 ? std::to_string(int(v + 0.5)) : "-"; };
    std::printf("%-15s %-10s %-9s %12.2f %9.2f %14s %14s", r.what.c_str(), r.size.c_str(),
                r.precision.c_str(), r.ms_per_frame, r.fps, mib(r.peak_mib).c_str(),
                mib(r.warmup_peak_mib).c_str());
    if (r.budget_ms > 0)
      std::printf("   budget %g ms: %.2f stages on average, %d at the end", r.budget_ms,
                  r.average_stages, r.final_stages);
    std::printf("\n");
  }
  for (const auto &r : rows)
    if (r.profile) print_profile(r);
}

}  // namespace

void add_bench(CLI::App &app) {
  auto args = std::make_shared<BenchArgs>();
  auto *cmd = app.add_subcommand(
      "bench",
      std::string("Time the Engine and the sapnetderain element: ms/frame, fps, peak GPU "
                  "memory. ms/frame is the time inside the Engine (for the element, its own "
                  "last-latency-ms); fps counts frames over wall time. The element runs in this "
                  "process on every usable core (it has no threads property)") +
          (element_bench_built() ? "" : ". This build has no GStreamer: element rows say so"));
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
  cmd->add_option("--max-latency-ms", args->max_latency_ms,
                  "Also time the element with this latency budget (its max-latency-ms: fewer "
                  "stages when frames take longer), next to the element without one")
      ->check(CLI::Range(0.0, 600000.0));
  auto *eo = cmd->add_flag("--engine-only", args->engine_only, "Skip the GStreamer element rows");
  cmd->add_flag("--element-only", args->element_only, "Skip the Engine rows")->excludes(eo);
  cmd->add_flag("--json", args->json, "Print JSON instead of the table");
  cmd->add_option("--profile", args->profile_dir,
                  "Also record each Engine row's frames with LibTorch's profiler: a Chrome trace "
                  "per row in this folder, and the time per kernel class and the longest kernels "
                  "(on CUDA the GPU's kernels, CUDA graph replays included; on the CPU the "
                  "operators, nested ones inside their callers)");
  cmd->add_option("--profile-frames", args->profile_frames, "Frames recorded per profile")
      ->check(CLI::Range(1, 1000));
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace sapnet::cli
