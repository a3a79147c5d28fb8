#include "engine.h"

#include <torch/cuda.h>
#include <torch/nn.h>
#include <torch/nn/functional/pooling.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "error.h"
#include "host_resources.h"
#include "model_file.h"
#include "sapnet.h"
#include "tensor_frame.h"
#include "torch_device.h"
#if SAPNET_WITH_CUDA
#include "cuda_pipeline.h"
#endif

namespace sapnet {
namespace {

// Sets LibTorch's intra-op thread count for one call into the Engine and restores the caller's
// afterwards, so that an Engine's `threads` option is not a process-wide side effect.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : previous_(torch::get_num_threads()) {
    if (threads != previous_) torch::set_num_threads(threads);
  }
  ~ThreadScope() {
    if (torch::get_num_threads() != previous_) torch::set_num_threads(previous_);
  }
  ThreadScope(const ThreadScope &) = delete;
  ThreadScope &operator=(const ThreadScope &) = delete;

 private:
  int previous_;
};

// A loaded network, ready for inference on one device in one precision. Engines that load the
// same file (same path, size and modification time) for the same device and precision share one,
// so several elements in a process hold one copy of the weights.
struct LoadedNet {
  SAPNet net{nullptr};
  std::string format;
};

// The networks Engines share, by file, device and precision. Entries are weak: a network goes with
// the last Engine that holds it.
std::mutex cache_mutex;
std::map<std::string, std::weak_ptr<const LoadedNet>> net_cache;

void drop_expired_locked() {
  for (auto it = net_cache.begin(); it != net_cache.end();)
    it = it->second.expired() ? net_cache.erase(it) : std::next(it);
}

std::shared_ptr<const LoadedNet> load_net(const std::string &path, const torch::Device &device,
                                          torch::ScalarType dtype) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  const auto mtime = std::filesystem::last_write_time(path, ec).time_since_epoch().count();
  const auto canonical = std::filesystem::weakly_canonical(path, ec);
  const std::string key = canonical.string() + "|" + std::to_string(size) + "|" +
                          std::to_string(mtime) + "|" + device.str() + "|" +
                          std::to_string(static_cast<int>(dtype));
  std::lock_guard<std::mutex> lock(cache_mutex);
  drop_expired_locked();
  if (auto hit = net_cache[key].lock()) return hit;

  ModelFile file = load_model_file(path);
  auto loaded = std::make_shared<LoadedNet>();
  loaded->format = file.format;
  try {
    loaded->net = SAPNet(file.network);
    load_weights(*loaded->net, file.weights);
  } catch (const Error &e) {
    throw Error(path + ": " + e.what());
  }
  loaded->net->eval();
  loaded->net->fuse_gates();
  loaded->net->to(device, dtype);
  {
    // Channels-last convolutions are the fast ones for cuDNN's fp16/bf16 kernels, and for oneDNN on
    // the CPU (about 1.25x over NCHW for this network at 320x240 with LibTorch 1.13).
    torch::NoGradGuard no_grad;
    for (auto &t : loaded->net->parameters())
      if (t.dim() == 4) t.set_data(t.contiguous(torch::MemoryFormat::ChannelsLast));
    for (auto &t : loaded->net->buffers())
      if (t.dim() == 4) t.set_data(t.contiguous(torch::MemoryFormat::ChannelsLast));
  }
  net_cache[key] = loaded;
  return loaded;
}

}  // namespace

int shared_network_count() {
  std::lock_guard<std::mutex> lock(cache_mutex);
  drop_expired_locked();
  return static_cast<int>(net_cache.size());
}

// Peak memory of one fp32 forward on the CPU per input pixel (measured: 32 channels, the
// recurrent state, fused gates and their temporaries).
constexpr double kNetworkBytesPerPixel = 1600;

struct Engine::Impl {
  std::shared_ptr<const LoadedNet> loaded;
  SAPNet net{nullptr};
  std::string path, format;
#if SAPNET_WITH_CUDA
  std::unique_ptr<CudaPipeline> cuda;
#endif
  torch::Device device{torch::kCPU};
  Precision precision = Precision::kFp32;
  torch::ScalarType dtype = torch::kFloat;
  int stages = 0;
  int threads = 1;
  int tile = 0, overlap = 0;
  // Per-resolution staging on the host: the network's input, channels-last float RGB (what the
  // network takes, so frames are decoded straight into it), and the blended tiles.
  torch::Tensor host_in, host_out;
  int width = 0, height = 0;

  void ensure_buffers(int w, int h) {
    if (w == width && h == height) return;
    auto opts = torch::TensorOptions().dtype(torch::kFloat);
    host_in = torch::empty({1, 3, h, w}, opts.memory_format(torch::MemoryFormat::ChannelsLast));
    host_out = torch::empty({1, 3, h, w}, opts.memory_format(torch::MemoryFormat::ChannelsLast));
    width = w;
    height = h;
  }

  int checked_width = 0, checked_height = 0;
  double checked_need = 0;

  // A frame too large for memory fails here with advice, before the allocations that would meet
  // the OOM killer (which no one can catch) or abort half way.
  // `network_px`: the pixels the network runs on when that is not the frame or its tiles.
  void check_memory(int w, int h, double network_px = 0) {
    const bool tiled = network_px == 0 && tile > 0 && (w > tile || h > tile);
    const double frame_px = double(w) * h;
    const double net_px = network_px > 0 ? network_px
                          : tiled        ? double(std::min(w, tile)) * std::min(h, tile)
                                         : frame_px;
    // Staging (input, output, tile weights: 3 float planes each) plus the network's working set.
    const double need = frame_px * 3 * 4 * (tiled ? 3 : 2) + net_px * kNetworkBytesPerPixel;
    // Frames of a stream repeat their size: the system is asked once per size and working set.
    if (w == checked_width && h == checked_height && need <= checked_need) return;
    const size_t available = available_memory_bytes();
    if (available == 0 || need <= double(available)) {
      checked_width = w, checked_height = h, checked_need = need;
      return;
    }
    char text[160];
    std::snprintf(text, sizeof text, "a %dx%d frame needs about %.1f GiB%s, %.1f GiB is available",
                  w, h, need / (1 << 30), tiled ? " even in tiles" : "",
                  double(available) / (1 << 30));
    throw Error(std::string(text) +
                (tiled ? ": use smaller tiles or a smaller frame"
                       : ": derain it in tiles (--tile-size 512, the element's tile-size)"));
  }

  // The network on a host float tensor; the result is a host float tensor (channels-last).
  torch::Tensor forward(const torch::Tensor &x) {
    auto in = x.to(device, dtype).contiguous(torch::MemoryFormat::ChannelsLast);
    return net->forward_stages(in, stages).back().to(torch::kCPU, torch::kFloat);
  }

  // Runs the network on host_in: its output, or host_out when tiles are blended into it.
  torch::Tensor run() {
    c10::InferenceMode inference;
    if (tile <= 0 || (width <= tile && height <= tile)) return forward(host_in);
    run_tiled();
    return host_out;
  }

  // Tiles start every (tile - overlap) pixels; inside an overlap each tile's weight ramps linearly
  // from its edge, and the weighted sum is normalised, so tiles meet without seams.
  static std::vector<int64_t> tile_starts(int64_t size, int64_t tile, int64_t step) {
    std::vector<int64_t> starts{0};
    while (starts.back() + tile < size)
      starts.push_back(std::min(starts.back() + step, size - tile));
    return starts;
  }

  void run_tiled() {
    const int64_t th = std::min<int64_t>(tile, height), tw = std::min<int64_t>(tile, width);
    auto ramp = [&](int64_t n, bool ramp_start, bool ramp_end) {
      auto w = torch::ones({n});
      const int64_t o = std::min<int64_t>(overlap, n / 2);
      for (int64_t i = 0; i < o; ++i) {
        const float v = (i + 1.0f) / (o + 1.0f);
        if (ramp_start) w[i] = v;
        if (ramp_end) w[n - 1 - i] = v;
      }
      return w;
    };
    host_out.zero_();
    auto weight_sum = torch::zeros({1, 1, height, width});
    const auto ys = tile_starts(height, th, th - overlap),
               xs = tile_starts(width, tw, tw - overlap);
    for (size_t iy = 0; iy < ys.size(); ++iy)
      for (size_t ix = 0; ix < xs.size(); ++ix) {
        const int64_t y0 = ys[iy], x0 = xs[ix];
        auto in = host_in.narrow(2, y0, th).narrow(3, x0, tw).contiguous();
        auto wy = ramp(th, iy > 0, iy + 1 < ys.size()).view({1, 1, th, 1});
        auto wx = ramp(tw, ix > 0, ix + 1 < xs.size()).view({1, 1, 1, tw});
        auto w = wy * wx;
        host_out.narrow(2, y0, th).narrow(3, x0, tw).add_(forward(in) * w);
        weight_sum.narrow(2, y0, th).narrow(3, x0, tw).add_(w);
      }
    host_out.div_(weight_sum);
  }
};

Engine::Engine(const EngineOptions &options) : impl_(std::make_unique<Impl>()) {
  impl_->path = options.model_path.empty() ? default_model_path() : options.model_path;
  const Device device = parse_device(options.device);
  impl_->device = torch_device(device);
  impl_->precision = resolve_precision(options.precision, device);
  impl_->dtype = torch_dtype(impl_->precision);
  // LibTorch's own default is one thread on small machines; use the cores this process may use.
  impl_->threads = bounded_threads(options.threads);
  ThreadScope threads(impl_->threads);
  impl_->loaded = load_net(impl_->path, impl_->device, impl_->dtype);
  impl_->net = impl_->loaded->net;
  impl_->format = impl_->loaded->format;
#if SAPNET_WITH_CUDA
  if (impl_->device.is_cuda())
    impl_->cuda = std::make_unique<CudaPipeline>(impl_->net, impl_->device, impl_->dtype);
#endif
  set_stages(options.stages);
  set_tiling(options.tile_size, options.tile_overlap);
}

void Engine::set_tiling(int tile_size, int tile_overlap) {
  if (tile_size != 0 && tile_size < 16)
    throw Error("tile size must be 0 (whole frame) or at least 16");
  if (tile_overlap < 0 || (tile_size > 0 && tile_overlap * 2 >= tile_size))
    throw Error("tile overlap must be 0.." + std::to_string(tile_size / 2 - 1) + " for tile size " +
                std::to_string(tile_size));
  impl_->tile = tile_size;
  impl_->overlap = tile_overlap;
}

Engine::~Engine() = default;

void Engine::set_stages(int stages) {
  const int most = impl_->net->config().stages;
  if (stages < 0 || stages > most)
    throw Error("stages must be 0 (all) or 1.." + std::to_string(most) + ", got " +
                std::to_string(stages));
  impl_->stages = stages == 0 ? most : stages;
}

int Engine::stages() const {
  return impl_->stages;
}
const NetworkConfig &Engine::network() const {
  return impl_->net->config();
}
std::string Engine::device() const {
  return impl_->device.str();
}
std::string Engine::device_name() const {
#if SAPNET_WITH_CUDA
  if (impl_->device.is_cuda()) return cuda_device_name(impl_->device);
#endif
  return "CPU, " + std::to_string(impl_->threads) + " threads";
}
Precision Engine::precision() const {
  return impl_->precision;
}
int Engine::threads() const {
  return impl_->threads;
}
std::string Engine::model_format() const {
  return impl_->format;
}
std::string Engine::model_path() const {
  return impl_->path;
}
const void *Engine::staging_buffer() const {
#if SAPNET_WITH_CUDA
  if (impl_->cuda) return impl_->cuda->staging_buffer();
#endif
  return impl_->host_in.defined() ? impl_->host_in.data_ptr() : nullptr;
}
const void *Engine::weights_id() const {
  return impl_->loaded.get();
}

size_t Engine::peak_device_memory() const {
#if SAPNET_WITH_CUDA
  if (impl_->device.is_cuda()) return cuda_peak_reserved_bytes(impl_->device);
#endif
  return 0;
}
void Engine::reset_peak_device_memory(bool release_cached) {
#if SAPNET_WITH_CUDA
  if (impl_->device.is_cuda()) cuda_reset_peak(impl_->device, release_cached);
#else
  (void)release_cached;
#endif
}

void Engine::process(const FrameView &in, const FrameView &out) {
  check_frame(in, "input frame");
  check_frame(out, "output frame");
  if (in.width != out.width || in.height != out.height)
    throw Error("input and output frames differ in size");
  ThreadScope threads(impl_->threads);
#if SAPNET_WITH_CUDA
  if (impl_->cuda && (impl_->tile <= 0 || (in.width <= impl_->tile && in.height <= impl_->tile)))
    return impl_->cuda->process(in, out, impl_->stages);
#endif
  impl_->check_memory(in.width, in.height);
  impl_->ensure_buffers(in.width, in.height);
  c10::InferenceMode inference;
  const FramePlanes in_planes = frame_planes(in);
  decode_frame(in_planes, impl_->host_in);
  encode_frame(impl_->run(), frame_planes(out), &in_planes);
}

void Engine::process_device(const FrameView &in, const FrameView &out, const DeviceSync &sync) {
  check_frame(in, "input frame");
  check_frame(out, "output frame");
  if (in.width != out.width || in.height != out.height)
    throw Error("input and output frames differ in size");
  if (impl_->tile > 0 && (in.width > impl_->tile || in.height > impl_->tile))
    throw Error("process_device: the frame is larger than the tile size; use process()");
#if SAPNET_WITH_CUDA
  if (impl_->cuda) return impl_->cuda->process_device(in, out, impl_->stages, sync);
  throw Error("process_device needs a CUDA Engine (this one runs on " + impl_->device.str() + ")");
#else
  (void)sync;
  throw Error("process_device: this build has no CUDA");
#endif
}

double Engine::rain_score(const FrameView &in) {
  check_frame(in, "input frame");
  ThreadScope threads(impl_->threads);
  // Area averaging keeps thin streaks as fainter lines (point sampling would break them into dots).
  const int step = (std::max(in.width, in.height) + kRainScoreSide - 1) / kRainScoreSide;
  // One stage runs on the shrunk frame only: its working set is that size, not the frame's.
  impl_->check_memory(in.width, in.height,
                      double((in.width + step - 1) / step) * ((in.height + step - 1) / step));
  impl_->ensure_buffers(in.width, in.height);
  c10::InferenceMode inference;
  decode_frame(frame_planes(in), impl_->host_in);
  namespace F = torch::nn::functional;
  auto small =
      step <= 1 ? impl_->host_in
                : F::avg_pool2d(
                      impl_->host_in,
                      F::AvgPool2dFuncOptions(step).stride(step).ceil_mode(true).count_include_pad(
                          false));
  auto x = small.to(impl_->device, impl_->dtype).contiguous(torch::MemoryFormat::ChannelsLast);
  auto first = impl_->net->forward_stages(x, 1).front();
  return (x - first).abs().to(torch::kFloat).mean().item<double>() * 255.0;
}

void Engine::process_planar(const float *in, float *out, int width, int height) {
  if (width <= 0 || height <= 0) throw Error("process_planar: empty image");
  ThreadScope threads(impl_->threads);
  impl_->check_memory(width, height);
  impl_->ensure_buffers(width, height);
  c10::InferenceMode inference;
  const auto shape = std::vector<int64_t>{1, 3, height, width};
  impl_->host_in.copy_(torch::from_blob(const_cast<float *>(in), shape, torch::kFloat));
  torch::from_blob(out, shape, torch::kFloat).copy_(impl_->run());
}

}  // namespace sapnet
