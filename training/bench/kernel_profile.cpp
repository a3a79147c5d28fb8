#include "bench/kernel_profile.h"

#include <algorithm>
#include <map>

namespace sapnet {

const char *kernel_class_name(KernelClass c) {
  switch (c) {
    case KernelClass::kConvolution:
      return "convolution";
    case KernelClass::kElementwise:
      return "elementwise";
    case KernelClass::kReduction:
      return "reduction";
    case KernelClass::kCopy:
      return "copy";
    case KernelClass::kOther:
      break;
  }
  return "other";
}

KernelClass classify_kernel(const std::string &name) {
  auto has = [&](const char *s) { return name.find(s) != std::string::npos; };
  // Transfers first: ATen's copy kernels are element-wise by name but move or convert data.
  if (name.rfind("Memcpy", 0) == 0 || name.rfind("Memset", 0) == 0 || has("copy_kernel"))
    return KernelClass::kCopy;
  if (has("reduce_kernel") || has("reduction")) return KernelClass::kReduction;
  // cuDNN and CUTLASS convolutions (implicit GEMM, Winograd, FFT) and their layout transforms.
  // ("conv" alone would take dtype conversions such as "convert" in element-wise kernels.)
  if (has("convolution") || has("convolve") || has("conv2d") || has("cudnn") || has("xmma") ||
      has("gemm") || has("winograd") || has("nchwToNhwc") || has("nhwcToNchw") || has("fprop"))
    return KernelClass::kConvolution;
  if (has("elementwise") || has("vectorized") || has("unrolled") || has("CatArray"))
    return KernelClass::kElementwise;
  return KernelClass::kOther;
}

KernelProfile summarize_kernels(const std::vector<KernelRun> &runs, int frames, size_t top_n) {
  KernelProfile p;
  p.frames = std::max(frames, 1);
  std::map<std::string, std::pair<int, uint64_t>> by_name;  // calls, ns
  uint64_t total = 0, by_class[5] = {};
  for (const KernelRun &r : runs) {
    auto &t = by_name[r.name];
    ++t.first;
    t.second += r.duration_ns;
    total += r.duration_ns;
    by_class[static_cast<int>(classify_kernel(r.name))] += r.duration_ns;
  }
  const double per_frame_ms = 1e-6 / p.frames;
  p.ms_per_frame = total * per_frame_ms;
  for (int c = 0; c < 5; ++c) p.class_ms_per_frame[c] = by_class[c] * per_frame_ms;
  for (const auto &[name, t] : by_name)
    p.top.push_back({name, double(t.first) / p.frames, t.second * per_frame_ms});
  std::sort(p.top.begin(), p.top.end(), [](const KernelTotal &a, const KernelTotal &b) {
    return a.ms_per_frame != b.ms_per_frame ? a.ms_per_frame > b.ms_per_frame : a.name < b.name;
  });
  if (p.top.size() > top_n) p.top.resize(top_n);
  return p;
}

}  // namespace sapnet
