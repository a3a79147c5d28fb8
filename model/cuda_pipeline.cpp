#include "cuda_pipeline.h"

#include <ATen/Context.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

#include <cstring>
#include <functional>
#include <mutex>

#include "error.h"
#include "tensor_frame.h"

namespace sapnet {

// Everything that depends on the frame size, the two formats and the stage count.
struct CudaPipeline::Plan {
  int width = 0, height = 0, stages = 0;
  PixelFormat in_format{}, out_format{};
  Colorimetry in_colorimetry, out_colorimetry;
  c10::cuda::CUDAStream stream;
  torch::Tensor host_in, host_out;      // pinned, compact bytes
  torch::Tensor device_in, device_out;  // compact bytes on the GPU (the graph's fixed addresses)
  at::cuda::CUDAGraph graph;
  bool captured = false;

  explicit Plan(c10::cuda::CUDAStream s) : stream(s) {}

  bool fits(const FrameView &in, const FrameView &out, int n) const {
    return in.width == width && in.height == height && in.format == in_format &&
           out.format == out_format && in.colorimetry == in_colorimetry &&
           out.colorimetry == out_colorimetry && n == stages;
  }
};

// The device-memory path's plan: the network's input (a fixed address that frames are decoded
// into) and its output, captured as one CUDA graph per size and stage count. The frames' own
// planes are read and written directly, so nothing depends on their addresses or formats.
struct CudaPipeline::DevicePlan {
  int width = 0, height = 0, stages = 0;
  c10::cuda::CUDAStream stream;
  torch::Tensor x, y;
  at::cuda::CUDAGraph graph;
  bool captured = false;

  explicit DevicePlan(c10::cuda::CUDAStream s) : stream(s) {}

  bool fits(int w, int h, int n) const { return w == width && h == height && n == stages; }
};

namespace {

// Graphs are captured in thread-local mode: only this thread must avoid unsafe CUDA calls while
// a graph is captured. In a pipeline, other elements' threads (NVDEC, cudaupload, CUDA buffer
// pools) keep allocating and copying at the same time, which global mode would make them fail.
constexpr cudaStreamCaptureMode kCaptureMode = cudaStreamCaptureModeThreadLocal;

// Throws sapnet::Error naming the CUDA call that failed.
void check_cuda(cudaError_t e, const char *what) {
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

// cuDNN's benchmark mode is process-wide: it is on only while a plan warms up (where it picks the
// algorithms the graph then captures), and the caller's setting is restored after. Warm-ups are
// serialised (warm_up_and_capture), so two pipelines never restore each other's setting.
class CudnnBenchmarkScope {
 public:
  CudnnBenchmarkScope() : previous_(at::globalContext().benchmarkCuDNN()) {
    at::globalContext().setBenchmarkCuDNN(true);
  }
  ~CudnnBenchmarkScope() { at::globalContext().setBenchmarkCuDNN(previous_); }
  CudnnBenchmarkScope(const CudnnBenchmarkScope &) = delete;
  CudnnBenchmarkScope &operator=(const CudnnBenchmarkScope &) = delete;

 private:
  bool previous_;
};

std::mutex &warm_up_mutex() {
  static std::mutex m;
  return m;
}

// Runs `step` a few times (cuDNN picks its algorithms, the allocator fills), then captures one more
// run into `graph` on the current stream. If anything throws, the capture is ended before the
// error goes on (its memory pool released, the stream out of capture mode), so that the stream,
// which LibTorch hands out again, stays usable.
void warm_up_and_capture(const c10::cuda::CUDAStream &stream, at::cuda::CUDAGraph &graph,
                         const std::function<void()> &step) {
  std::lock_guard<std::mutex> lock(warm_up_mutex());
  CudnnBenchmarkScope benchmark;
  for (int i = 0; i < 3; ++i) step();
  stream.synchronize();
  // cuDNN's benchmark tried algorithms with workspaces of up to gigabytes at 1080p; the caching
  // allocator would keep them reserved for the life of the process. Returned now, the element
  // holds what the captured graph needs.
  c10::cuda::CUDACachingAllocator::emptyCache();
  graph.capture_begin({0, 0}, kCaptureMode);
  try {
    step();
  } catch (...) {
    try {
      graph.capture_end();
    } catch (...) {  // an invalidated capture ends with an error of its own: the first one counts
    }
    throw;
  }
  graph.capture_end();
}

}  // namespace

CudaPipeline::CudaPipeline(SAPNet net, torch::Device device, torch::ScalarType dtype)
    : net_(std::move(net)), device_(device), dtype_(dtype) {}

CudaPipeline::~CudaPipeline() = default;

const void *CudaPipeline::staging_buffer() const {
  return plan_ ? plan_->host_in.data_ptr() : nullptr;
}

void CudaPipeline::process(const FrameView &in, const FrameView &out, int stages) {
  c10::cuda::CUDAGuard device_guard(device_);
  if (!plan_ || !plan_->fits(in, out, stages)) {
    plan_.reset();  // frees the previous graph and buffers before new ones are made
    auto plan = std::make_unique<Plan>(
        c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device_.index()));
    plan->width = in.width;
    plan->height = in.height;
    plan->stages = stages;
    plan->in_format = in.format;
    plan->out_format = out.format;
    plan->in_colorimetry = in.colorimetry;
    plan->out_colorimetry = out.colorimetry;
    const auto bytes = torch::TensorOptions().dtype(torch::kByte);
    const int64_t in_size = compact_frame_size(in.format, in.width, in.height);
    const int64_t out_size = compact_frame_size(out.format, out.width, out.height);
    plan->host_in = torch::empty({in_size}, bytes.pinned_memory(true));
    plan->host_out = torch::empty({out_size}, bytes.pinned_memory(true));
    plan->device_in = torch::zeros({in_size}, bytes.device(device_));
    plan->device_out = torch::zeros({out_size}, bytes.device(device_));
    plan_ = std::move(plan);
  }
  Plan &p = *plan_;
  c10::cuda::CUDAStreamGuard stream_guard(p.stream);
  c10::InferenceMode inference;

  copy_to_compact(in, p.host_in.data_ptr<uint8_t>());
  p.device_in.copy_(p.host_in, /*non_blocking=*/true);
  // The same conversion as the CPU path (tensor_frame), on the GPU; alpha goes through with it.
  auto step = [&] {
    const FramePlanes in_planes =
        compact_planes(p.device_in, p.in_format, p.width, p.height, p.in_colorimetry);
    auto x = torch::empty({1, 3, p.height, p.width},
                          torch::TensorOptions().dtype(dtype_).device(device_).memory_format(
                              torch::MemoryFormat::ChannelsLast));
    decode_frame(in_planes, x);
    auto y = net_->forward_stages(x, p.stages).back();
    encode_frame(y,
                 compact_planes(p.device_out, p.out_format, p.width, p.height, p.out_colorimetry),
                 &in_planes);
  };
  if (!p.captured) {
    try {
      warm_up_and_capture(p.stream, p.graph, step);
    } catch (...) {
      plan_.reset();  // the next frame starts a new plan
      throw;
    }
    p.captured = true;
  }
  p.graph.replay();
  p.host_out.copy_(p.device_out, /*non_blocking=*/true);
  p.stream.synchronize();
  // A 4-byte input's alpha is in the downloaded bytes; otherwise out's fourth byte stays.
  copy_from_compact(p.host_out.data_ptr<uint8_t>(), out,
                    bytes_per_pixel(in.format) == 4 && bytes_per_pixel(out.format) == 4);
}

void CudaPipeline::process_device(const FrameView &in, const FrameView &out, int stages,
                                  const DeviceSync &sync) {
  c10::cuda::CUDAGuard device_guard(device_);
  if (!device_plan_ || !device_plan_->fits(in.width, in.height, stages)) {
    device_plan_.reset();
    auto plan = std::make_unique<DevicePlan>(
        c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device_.index()));
    plan->width = in.width;
    plan->height = in.height;
    plan->stages = stages;
    plan->x = torch::empty({1, 3, in.height, in.width},
                           torch::TensorOptions().dtype(dtype_).device(device_).memory_format(
                               torch::MemoryFormat::ChannelsLast));
    device_plan_ = std::move(plan);
  }
  DevicePlan &p = *device_plan_;
  c10::cuda::CUDAStreamGuard stream_guard(p.stream);
  c10::InferenceMode inference;
  // Whatever the neighbours queued before `ready` (their copies into `in`) comes first.
  if (sync.ready)
    check_cuda(cudaStreamWaitEvent(p.stream.stream(), static_cast<cudaEvent_t>(sync.ready), 0),
               "cudaStreamWaitEvent");
  // The planes as strided uint8 tensors on the GPU: no copy in, none out.
  const FramePlanes in_planes = frame_planes(in, device_);
  decode_frame(in_planes, p.x);
  if (!p.captured) {
    try {
      warm_up_and_capture(p.stream, p.graph,
                          [&] { p.y = net_->forward_stages(p.x, p.stages).back(); });
    } catch (...) {
      device_plan_.reset();
      throw;
    }
    p.captured = true;
  }
  p.graph.replay();
  encode_frame(p.y, frame_planes(out, device_), &in_planes);
  if (sync.done)
    check_cuda(cudaEventRecord(static_cast<cudaEvent_t>(sync.done), p.stream.stream()),
               "cudaEventRecord");
  else
    p.stream.synchronize();
}

size_t cuda_peak_reserved_bytes(const torch::Device &device) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  return stats.reserved_bytes[0].peak;  // index 0: StatType::AGGREGATE, all pools
}

void cuda_reset_peak(const torch::Device &device, bool release_cached) {
  if (release_cached) c10::cuda::CUDACachingAllocator::emptyCache();
  c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
}

std::string cuda_device_name(const torch::Device &device) {
  return at::cuda::getDeviceProperties(device.index())->name;
}

}  // namespace sapnet
