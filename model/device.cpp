#include "device.h"

#include <torch/cuda.h>

#include <cstdlib>

#include "error.h"

namespace sapnet {

const char *precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kFp16:
      return "fp16";
    case Precision::kBf16:
      return "bf16";
    case Precision::kAuto:
      break;
  }
  return "auto";
}

Precision parse_precision(const std::string &name) {
  for (Precision p : {Precision::kAuto, Precision::kFp32, Precision::kFp16, Precision::kBf16})
    if (name == precision_name(p)) return p;
  throw Error("unknown precision '" + name + "' (expected auto, fp32, fp16 or bf16)");
}

std::string Device::str() const {
  return cuda ? "cuda:" + std::to_string(index) : "cpu";
}

bool cuda_available() {
  return SAPNET_WITH_CUDA && torch::cuda::is_available();
}

Device parse_device(const std::string &name) {
  if (name.empty() || name == "auto") return Device{cuda_available(), 0};
  if (name == "cpu") return Device{};
  int index = 0;
  if (name != "cuda") {
    const std::string digits = name.rfind("cuda:", 0) == 0 ? name.substr(5) : "";
    char *end = nullptr;
    const long n = digits.empty() ? -1 : std::strtol(digits.c_str(), &end, 10);
    if (n < 0 || n > 1023 || *end != '\0')
      throw Error("unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
    index = static_cast<int>(n);
  }
  if (!SAPNET_WITH_CUDA)
    throw Error("device '" + name +
                "': this build's LibTorch has no CUDA (configure with -Dtorch_prefix= pointing "
                "at a CUDA LibTorch)");
  if (!torch::cuda::is_available()) throw Error("device '" + name + "': no CUDA GPU is visible");
  if (index >= static_cast<int>(torch::cuda::device_count()))
    throw Error("device '" + name + "': only " + std::to_string(torch::cuda::device_count()) +
                " CUDA device(s)");
  return Device{true, index};
}

Precision resolve_precision(Precision p, const Device &device) {
  if (p == Precision::kAuto) return device.cuda ? Precision::kFp16 : Precision::kFp32;
  if (!device.cuda && p != Precision::kFp32)
    throw Error(std::string("precision ") + precision_name(p) +
                " needs a CUDA device; the CPU runs fp32");
  return p;
}

}  // namespace sapnet
