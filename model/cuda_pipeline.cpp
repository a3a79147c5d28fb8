#include "cuda_pipeline.h"

#include <ATen/Context.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/torch.h>

#include <cstring>

#include "tensor_frame.h"

namespace sapnet {

// Everything that depends on the frame size, the two formats and the stage count.
struct CudaPipeline::Plan {
  int width = 0, height = 0, stages = 0;
  PixelFormat in_format{}, out_format{};
  c10::cuda::CUDAStream stream;
  torch::Tensor host_in, host_out;      // pinned, compact bytes
  torch::Tensor device_in, device_out;  // compact bytes on the GPU (the graph's fixed addresses)
  at::cuda::CUDAGraph graph;
  bool captured = false;

  explicit Plan(c10::cuda::CUDAStream s) : stream(s) {}

  bool fits(const FrameView &in, const FrameView &out, int n) const {
    return in.width == width && in.height == height && in.format == in_format &&
           out.format == out_format && n == stages;
  }
};

CudaPipeline::CudaPipeline(SAPNet net, torch::Device device, torch::ScalarType dtype)
    : net_(std::move(net)), device_(device), dtype_(dtype) {
  // Let cuDNN pick the fastest algorithm for each shape while the graph is being prepared.
  at::globalContext().setBenchmarkCuDNN(true);
}

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
  auto step = [&] {
    auto x = compact_to_rgb(p.device_in, p.in_format, p.width, p.height, dtype_,
                            /*channels_last=*/true);
    auto y = net_->forward_stages(x, p.stages).back();
    rgb_to_compact(y, p.out_format, p.width, p.height, p.device_out);
  };
  if (!p.captured) {
    // Warm-up runs pick the cuDNN algorithms and fill the allocator before capture.
    for (int i = 0; i < 3; ++i) step();
    p.stream.synchronize();
    p.graph.capture_begin();
    step();
    p.graph.capture_end();
    p.captured = true;
  }
  p.graph.replay();
  p.host_out.copy_(p.device_out, /*non_blocking=*/true);
  p.stream.synchronize();
  copy_from_compact(p.host_out.data_ptr<uint8_t>(), out);
}

size_t cuda_peak_reserved_bytes(const torch::Device &device) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  return stats.reserved_bytes[0].peak;  // index 0: StatType::AGGREGATE, all pools
}

void cuda_reset_peak(const torch::Device &device) {
  c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
}

std::string cuda_device_name(const torch::Device &device) {
  return at::cuda::getDeviceProperties(device.index())->name;
}

}  // namespace sapnet
