// device.h's types as LibTorch's.
#pragma once

#include <torch/types.h>

#include "device.h"

namespace sapnet {

inline torch::Device torch_device(const Device &d) {
  return d.cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(d.index))
                : torch::Device(torch::kCPU);
}

// A resolved precision (not kAuto) as a tensor type.
inline torch::ScalarType torch_dtype(Precision p) {
  return p == Precision::kFp16   ? torch::kHalf
         : p == Precision::kBf16 ? torch::kBFloat16
                                 : torch::kFloat;
}

}  // namespace sapnet
