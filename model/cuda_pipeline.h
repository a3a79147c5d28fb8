// The Engine's CUDA path (built only against a CUDA LibTorch): frames go up as compact bytes from
// pinned host memory on the engine's own stream, are converted to the network's layout on the GPU,
// run through the network (fp16/bf16/fp32, channels-last) and come back as bytes. Per resolution
// and format pair, everything after the upload is captured once as a CUDA graph and replayed, so a
// warm stream allocates nothing and launches one graph per frame.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "engine.h"
#include "frame.h"
#include "sapnet.h"

namespace sapnet {

class CudaPipeline {
 public:
  CudaPipeline(SAPNet net, torch::Device device, torch::ScalarType dtype);
  ~CudaPipeline();
  CudaPipeline(const CudaPipeline &) = delete;
  CudaPipeline &operator=(const CudaPipeline &) = delete;

  void process(const FrameView &in, const FrameView &out, int stages);
  // Frames already in device memory (Engine::process_device): decoded from and encoded into the
  // planes in place, the network in between replayed as a CUDA graph captured per size and stage
  // count. `ready` and `done` are cudaEvent_t (or null).
  void process_device(const FrameView &in, const FrameView &out, int stages,
                      const DeviceSync &sync);
  // Address of the pinned upload buffer (stable across frames of one size and format).
  const void *staging_buffer() const;

 private:
  struct Plan;
  struct DevicePlan;
  SAPNet net_;
  torch::Device device_;
  torch::ScalarType dtype_;
  std::unique_ptr<Plan> plan_;
  std::unique_ptr<DevicePlan> device_plan_;
};

// Peak bytes the CUDA caching allocator has reserved on `device` since the last reset, and the
// reset; `release_cached` first returns the allocator's unused blocks (earlier work's) to CUDA, so
// that the next peak is this work's alone.
size_t cuda_peak_reserved_bytes(const torch::Device &device);
void cuda_reset_peak(const torch::Device &device, bool release_cached = false);
// The GPU's name, e.g. "NVIDIA H100 80GB HBM3".
std::string cuda_device_name(const torch::Device &device);

}  // namespace sapnet
