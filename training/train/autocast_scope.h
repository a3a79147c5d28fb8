// Mixed precision for the training forward pass: inside the scope, the ops LibTorch's autocast
// lists (convolutions first) run in bf16 on the device's autocast, while the weights, their
// gradients and the optimizer stay fp32. LibTorch 1.13 and 2.x name these switches differently.
#pragma once

#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <torch/version.h>

namespace sapnet {

class AutocastScope {
 public:
  // Does nothing when `enabled` is false.
  AutocastScope(c10::DeviceType device, c10::ScalarType dtype, bool enabled)
      : device_(device), enabled_(enabled) {
    if (!enabled_) return;
    was_enabled_ = is_enabled(device_);
    was_dtype_ = get_dtype(device_);
    set_enabled(device_, true);
    set_dtype(device_, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    // The cast copies of the weights are cached for the scope; the optimizer changes the weights
    // before the next forward, so the cache must not outlive it.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_enabled(device_, was_enabled_);
    set_dtype(device_, was_dtype_);
  }
  AutocastScope(const AutocastScope &) = delete;
  AutocastScope &operator=(const AutocastScope &) = delete;

 private:
#if TORCH_VERSION_MAJOR >= 2
  static bool is_enabled(c10::DeviceType d) {
    return at::autocast::is_autocast_enabled(d);
  }
  static void set_enabled(c10::DeviceType d, bool on) {
    at::autocast::set_autocast_enabled(d, on);
  }
  static c10::ScalarType get_dtype(c10::DeviceType d) {
    return at::autocast::get_autocast_dtype(d);
  }
  static void set_dtype(c10::DeviceType d, c10::ScalarType t) {
    at::autocast::set_autocast_dtype(d, t);
  }
#else
  static bool is_enabled(c10::DeviceType d) {
    return d == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
  }
  static void set_enabled(c10::DeviceType d, bool on) {
    d == c10::DeviceType::CPU ? at::autocast::set_cpu_enabled(on) : at::autocast::set_enabled(on);
  }
  static c10::ScalarType get_dtype(c10::DeviceType d) {
    return d == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                     : at::autocast::get_autocast_gpu_dtype();
  }
  static void set_dtype(c10::DeviceType d, c10::ScalarType t) {
    d == c10::DeviceType::CPU ? at::autocast::set_autocast_cpu_dtype(t)
                              : at::autocast::set_autocast_gpu_dtype(t);
  }
#endif

  c10::DeviceType device_;
  bool enabled_;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Float;
};

}  // namespace sapnet
