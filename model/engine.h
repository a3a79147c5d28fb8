// model::Engine: the one inference API of the project. Frames in, derained frames out, on the CPU
// (or CUDA with a CUDA LibTorch). LibTorch stays behind a pimpl so that callers (the GStreamer
// element, tools) do not include it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "device.h"
#include "export.h"
#include "frame.h"
#include "network_config.h"

namespace sapnet {

// The long side, in pixels, of the shrunk frame Engine::rain_score looks at.
constexpr int kRainScoreSide = 128;

// CUDA events (cudaEvent_t, passed as void * so that callers need no CUDA header) that order the
// Engine's own CUDA stream against other work on the GPU. Either may be null.
struct DeviceSync {
  void *ready = nullptr;  // the Engine's stream waits for this event before it reads the input
  void *done = nullptr;   // recorded on the Engine's stream after its last write to the output
};

struct EngineOptions {
  std::string model_path;      // empty: the bundled default model (see default_model_path())
  std::string device = "cpu";  // parse_device(): "cpu", "cuda", "cuda:N" or "auto"
  Precision precision = Precision::kFp32;  // kAuto: fp16 on CUDA, fp32 on the CPU
  int stages = 0;  // recurrent stages to run, 1..network stages; 0 = all (early exit)
  // CPU intra-op threads for this Engine's work (0 = every core the process may use). Set around
  // each call into the Engine and restored after it: other code's thread count is not touched.
  int threads = 0;
  // Frames larger than tile_size (either side) run as overlapping tiles blended with linear ramps,
  // so that very large frames fit in memory without seams. 0 = whole frame.
  int tile_size = 0;
  int tile_overlap = 32;
};

class SAPNET_API Engine {
 public:
  // Loads the model and moves it to the device. Throws sapnet::Error naming the file and the
  // reason.
  explicit Engine(const EngineOptions &options);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  // Derains `in` into `out` (same size; formats and colorimetries may differ; `out` may alias
  // `in`; alpha is carried over between 4-byte formats, on every device). Buffers are kept per
  // resolution, so a stream of equal-sized frames allocates none of its own once warm.
  void process(const FrameView &in, const FrameView &out);

  // Derains a frame held in CUDA device memory into another (same size; formats and colorimetries
  // may differ, as for process()). The views' planes are device pointers of this Engine's GPU,
  // allocated in the device's primary context (the one the CUDA runtime and LibTorch use), with
  // any strides: they are read and written in place as strided tensors, without a copy. The work
  // runs on the Engine's own stream, after sync.ready; the call returns once it is queued, and
  // sync.done marks its end (without sync.done the call waits for it). Throws sapnet::Error on a
  // CPU Engine, in a build without CUDA, or when tiling applies to the frame (use process()).
  void process_device(const FrameView &in, const FrameView &out, const DeviceSync &sync = {});

  // Derains planar RGB floats (3 x height x width, [0, 1]) into `out` (same shape, unclamped).
  void process_planar(const float *in, float *out, int width, int height);

  // How much rain `in` holds, cheaply: the mean absolute rain layer (the frame minus the first
  // stage's output) of the frame shrunk by area averaging to at most kRainScoreSide pixels on its
  // long side, in 8-bit levels. Dry scenes score low (about 3 on a plain street), streaks and haze
  // higher (the README gives measured values). Costs one stage on the small frame.
  double rain_score(const FrameView &in);

  void set_stages(int stages);  // 0 = all
  // Throws sapnet::Error for a tile smaller than 16 or an overlap not below half the tile.
  void set_tiling(int tile_size, int tile_overlap);
  int stages() const;
  const NetworkConfig &network() const;
  std::string device() const;        // "cpu", "cuda:0"
  std::string device_name() const;   // "CPU, 2 threads", "NVIDIA H100 80GB HBM3"
  Precision precision() const;       // resolved: never kAuto
  int threads() const;               // the CPU threads this Engine's work runs on
  std::string model_format() const;  // what the model file was recognised as
  std::string model_path() const;
  // Address of the network's input staging buffer: stable across frames of one size (tests use it
  // to check that nothing is reallocated per frame).
  const void *staging_buffer() const;
  // Identity of the loaded weights: engines of one model file, device and precision share them;
  // the weights are released with the last Engine that uses them.
  const void *weights_id() const;
  // Peak device memory reserved by LibTorch's CUDA allocator since the last reset (0 on the CPU).
  // `release_cached` returns the allocator's unused blocks first, so that the next peak counts
  // this Engine's work and not what earlier work left cached.
  size_t peak_device_memory() const;
  void reset_peak_device_memory(bool release_cached = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The bundled default model: $SAPNET_MODEL if set, else the installed copy (first the one beside
// the installed library, plugin or command that runs this, so that a DESTDIR or a moved install
// finds its own; then the one under the configured prefix), else the source tree's.
// Throws sapnet::Error when none exists.
SAPNET_API std::string default_model_path();

// How many distinct loaded networks Engines share in this process right now.
SAPNET_API int shared_network_count();

// The library's version, the project's ("0.1.0"); the soname carries its major number.
SAPNET_API const char *version();

}  // namespace sapnet
