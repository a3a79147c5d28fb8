#include "engine.h"

#include <torch/cuda.h>
#include <torch/nn.h>

#include <cstdlib>
#include <filesystem>

#include "error.h"
#include "model_file.h"
#include "sapnet.h"

#ifndef SAPNET_DEFAULT_MODEL_INSTALLED
#define SAPNET_DEFAULT_MODEL_INSTALLED ""
#endif
#ifndef SAPNET_DEFAULT_MODEL_SOURCE
#define SAPNET_DEFAULT_MODEL_SOURCE ""
#endif

namespace sapnet {
namespace {

torch::Device parse_device(const std::string &name) {
  if (name == "auto" || name.empty()) return cuda_available() ? torch::Device("cuda:0") : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!SAPNET_WITH_CUDA)
      throw Error("device '" + name + "': this build's LibTorch has no CUDA (configure with "
                  "-Dtorch_prefix= pointing at a CUDA LibTorch)");
    if (!torch::cuda::is_available()) throw Error("device '" + name + "': no CUDA GPU is visible");
    torch::Device dev(name == "cuda" ? "cuda:0" : name);
    if (dev.index() >= static_cast<int>(torch::cuda::device_count()))
      throw Error("device '" + name + "': only " + std::to_string(torch::cuda::device_count()) +
                  " CUDA device(s)");
    return dev;
  }
  throw Error("unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
}

torch::ScalarType parse_precision(const std::string &name, const torch::Device &device) {
  if (name == "auto" || name.empty()) return device.is_cuda() ? torch::kHalf : torch::kFloat;
  if (name == "fp32") return torch::kFloat;
  if (name == "fp16" || name == "bf16") {
    if (!device.is_cuda())
      throw Error("precision " + name + " needs a CUDA device; the CPU runs fp32");
    return name == "fp16" ? torch::kHalf : torch::kBFloat16;
  }
  throw Error("unknown precision '" + name + "' (expected auto, fp32, fp16 or bf16)");
}

}  // namespace

bool cuda_available() { return SAPNET_WITH_CUDA && torch::cuda::is_available(); }

std::string default_model_path() {
  if (const char *env = std::getenv("SAPNET_MODEL"); env && *env) return env;
  for (const char *candidate : {SAPNET_DEFAULT_MODEL_INSTALLED, SAPNET_DEFAULT_MODEL_SOURCE}) {
    std::error_code ec;
    if (*candidate && std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  throw Error("no bundled default model is installed yet (looked for " +
              std::string(SAPNET_DEFAULT_MODEL_INSTALLED) + " and " + SAPNET_DEFAULT_MODEL_SOURCE +
              "); name a model file explicitly");
}

struct Engine::Impl {
  SAPNet net{nullptr};
  std::string path, format;
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat;
  int stages = 0;
  // Per-resolution staging: network input on the host (float planar RGB) and its output.
  torch::Tensor host_in, host_out;
  int width = 0, height = 0;

  void ensure_buffers(int w, int h) {
    if (w == width && h == height) return;
    auto opts = torch::TensorOptions().dtype(torch::kFloat);
    host_in = torch::empty({1, 3, h, w}, opts);
    host_out = torch::empty({1, 3, h, w}, opts);
    width = w;
    height = h;
  }

  // Runs the network on host_in, leaving the result in host_out.
  void run() {
    c10::InferenceMode inference;
    auto x = host_in;
    if (device.is_cuda() || dtype != torch::kFloat) x = x.to(device, dtype, /*non_blocking=*/false);
    auto y = net->forward_stages(x, stages).back();
    host_out.copy_(y);
  }
};

Engine::Engine(const EngineOptions &options) : impl_(std::make_unique<Impl>()) {
  impl_->path = options.model_path.empty() ? default_model_path() : options.model_path;
  impl_->device = parse_device(options.device);
  impl_->dtype = parse_precision(options.precision, impl_->device);
  if (options.threads > 0) torch::set_num_threads(options.threads);
  ModelFile file = load_model_file(impl_->path);
  impl_->format = file.format;
  try {
    impl_->net = SAPNet(file.network);
    load_weights(*impl_->net, file.weights);
  } catch (const Error &e) {
    throw Error(impl_->path + ": " + e.what());
  }
  impl_->net->eval();
  impl_->net->to(impl_->device, impl_->dtype);
  set_stages(options.stages);
}

Engine::~Engine() = default;

void Engine::set_stages(int stages) {
  const int most = impl_->net->config().stages;
  if (stages < 0 || stages > most)
    throw Error("stages must be 0 (all) or 1.." + std::to_string(most) + ", got " + std::to_string(stages));
  impl_->stages = stages == 0 ? most : stages;
}

int Engine::stages() const { return impl_->stages; }
const NetworkConfig &Engine::network() const { return impl_->net->config(); }
std::string Engine::device() const { return impl_->device.str(); }
std::string Engine::precision() const {
  return impl_->dtype == torch::kHalf ? "fp16" : impl_->dtype == torch::kBFloat16 ? "bf16" : "fp32";
}
std::string Engine::model_format() const { return impl_->format; }
std::string Engine::model_path() const { return impl_->path; }
const void *Engine::staging_buffer() const { return impl_->host_in.defined() ? impl_->host_in.data_ptr() : nullptr; }

void Engine::process(const FrameView &in, const FrameView &out) {
  check_frame(in, "input frame");
  check_frame(out, "output frame");
  if (in.width != out.width || in.height != out.height)
    throw Error("input and output frames differ in size");
  impl_->ensure_buffers(in.width, in.height);
  frame_to_planar_rgb(in, impl_->host_in.data_ptr<float>());
  impl_->run();
  planar_rgb_to_frame(impl_->host_out.data_ptr<float>(), out);
}

void Engine::process_planar(const float *in, float *out, int width, int height) {
  if (width <= 0 || height <= 0) throw Error("process_planar: empty image");
  impl_->ensure_buffers(width, height);
  std::copy(in, in + size_t(3) * width * height, impl_->host_in.data_ptr<float>());
  impl_->run();
  std::copy(impl_->host_out.data_ptr<float>(), impl_->host_out.data_ptr<float>() + size_t(3) * width * height, out);
}

}  // namespace sapnet
