// sapnetderain on GStreamer's CUDA memory (built only with gstreamer-cuda-1.0 and a CUDA LibTorch:
// SAPNET_GST_CUDA). The CUDA context the element shares with its neighbours, the buffer pools it
// proposes and takes, frames mapped as device pointers, and the events that order the Engine's
// CUDA stream against the neighbours' work. Neither LibTorch nor GStreamer's CUDA headers appear
// here: the element includes this file only.
#pragma once

#include <gst/video/video.h>

#include <functional>
#include <memory>
#include <string>

#include "engine.h"
#include "frame.h"
#include "frame_view.h"

// The formats sapnetderain takes in CUDA memory (the nvcodec elements' common ones). I420 only at
// even heights: GStreamer's CUDA memory (1.22 and later) starts the V plane height / 2 rows
// after U, so at an odd height U's last row and V's first are the same bytes (seen on an H200:
// 232 levels off at 161x97), and no element can carry such a frame intact.
#define SAPNET_CUDA_MEMORY_FORMATS "{ NV12, RGBA, BGRA, RGBx, BGRx }"
#define SAPNET_CUDA_VIDEO_CAPS                                                              \
  GST_VIDEO_CAPS_MAKE_WITH_FEATURES("memory:CUDAMemory", SAPNET_CUDA_MEMORY_FORMATS)        \
  SAPNET_PROGRESSIVE                                                                        \
  "; video/x-raw(memory:CUDAMemory), format = (string) I420, width = " GST_VIDEO_SIZE_RANGE \
  ", height = (int) [ 2, 2147483646, 2 ], framerate = " GST_VIDEO_FPS_RANGE SAPNET_PROGRESSIVE

namespace sapnet::gst {

// Whether GStreamer's CUDA library found a driver and at least one GPU (checked once per
// process). `why`, when given, says why not.
bool cuda_memory_usable(std::string *why = nullptr);

// Whether the first structure of `caps` has the memory:CUDAMemory feature.
bool caps_have_cuda_memory(const GstCaps *caps);

// transform_caps for an element whose two pads may differ in memory: every structure of `caps` in
// its own memory first, then in the other (CUDA memory only when `cuda`), restricted to
// `other_template`; without `cuda`, no CUDA memory at all. Returns a new reference.
GstCaps *transform_memory_caps(GstCaps *caps, bool cuda, GstCaps *other_template);

// One element's CUDA-memory state. Calls come from the element's vmethods (set_context, query,
// propose_allocation, decide_allocation, transform) and from property changes.
class CudaMemory {
 public:
  explicit CudaMemory(GstElement *element);
  ~CudaMemory();
  CudaMemory(const CudaMemory &) = delete;
  CudaMemory &operator=(const CudaMemory &) = delete;

  // The GPU the element runs on, as its `device` property names it ("auto", "cuda:1", "cpu").
  void set_device(const std::string &name);
  // The CUDA device index whose memory the element takes, or -1 (CPU, or no usable CUDA).
  int device();
  bool enabled() { return device() >= 0; }

  // GstElement::set_context: takes a neighbour's or the application's context on this GPU when
  // it is the GPU's primary context (the one the Engine's LibTorch uses).
  void set_context(GstContext *context);
  // The CONTEXT query of a neighbour: answered with this element's context (made on demand).
  bool handle_context_query(GstQuery *query);
  // A GstCudaBufferPool for upstream (propose) or for the output (decide), for CUDA caps.
  bool propose_allocation(GstQuery *query);
  bool decide_allocation(GstQuery *query);
  // stop(): forgets the context (the next start asks again).
  void reset();

  // Whether `in` and `out` are CUDA memory the Engine can read and write in place (one memory
  // each, of this GPU's primary context). When not, says why in the debug log (once per reason)
  // and returns false: the caller copies through system memory instead.
  bool can_process(GstBuffer *in, GstBuffer *out);
  // Maps both with GST_MAP_CUDA, calls `run` with device views of their planes and events that
  // order the Engine's stream after the neighbours' queued work, and waits for the Engine's end
  // before unmapping (GStreamer 1.22's CUDA memory carries no stream, so a buffer must be finished
  // when it leaves). Throws sapnet::Error when a buffer cannot be mapped.
  using Run = std::function<void(const FrameView &, const FrameView &, const DeviceSync &)>;
  void process(GstBuffer *in, const GstVideoInfo *in_info, GstBuffer *out,
               const GstVideoInfo *out_info, const Run &run);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sapnet::gst
