// Where the network runs and in what arithmetic: the one parser of device and precision names in
// the project (the Engine, the elements, the perception models and the trainer use it).
// Torch-free; torch_device.h turns the result into LibTorch's types.
#pragma once

#include <string>

#include "export.h"

namespace sapnet {

// The element's `precision` property takes these values in this order.
enum class Precision { kAuto = 0, kFp32 = 1, kFp16 = 2, kBf16 = 3 };

// "auto", "fp32", "fp16", "bf16".
SAPNET_API const char *precision_name(Precision p);
// Throws sapnet::Error for any other name.
SAPNET_API Precision parse_precision(const std::string &name);

struct SAPNET_API Device {
  bool cuda = false;
  int index = 0;            // the CUDA device; 0 on the CPU
  std::string str() const;  // "cpu", "cuda:0"
  bool operator==(const Device &o) const { return cuda == o.cuda && index == o.index; }
};

// "auto" or "" (CUDA device 0 when this build and machine have one, else the CPU), "cpu", "cuda"
// (device 0) or "cuda:N". Throws sapnet::Error for an unknown name, or a CUDA device this build
// or machine does not have, saying which.
SAPNET_API Device parse_device(const std::string &name);

// `auto` becomes fp16 on CUDA and fp32 on the CPU; fp16 and bf16 on the CPU throw sapnet::Error
// (the CPU runs fp32).
SAPNET_API Precision resolve_precision(Precision p, const Device &device);

// True when this build and this machine can run on CUDA.
SAPNET_API bool cuda_available();

}  // namespace sapnet
