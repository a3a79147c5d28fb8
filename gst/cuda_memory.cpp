// GStreamer 1.22's CUDA library (gstreamer-cuda-1.0) is unstable API: it asks for this define.
#define GST_USE_UNSTABLE_API 1
#include "cuda_memory.h"

#include <cuda_runtime_api.h>
#include <gst/cuda/gstcudabufferpool.h>
#include <gst/cuda/gstcudacontext.h>
#include <gst/cuda/gstcudaloader.h>
#include <gst/cuda/gstcudamemory.h>
#include <gst/cuda/gstcudautils.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "device.h"
#include "error.h"
#include "frame_view.h"

GST_DEBUG_CATEGORY_STATIC(sapnet_cuda_memory_debug);
#define GST_CAT_DEFAULT sapnet_cuda_memory_debug

namespace sapnet::gst {
namespace {

void init_debug() {
  static std::once_flag once;
  std::call_once(once, [] {
    GST_DEBUG_CATEGORY_INIT(sapnet_cuda_memory_debug, "sapnetcudamemory", 0,
                            "sapnetderain on CUDA memory");
  });
}

// The GPU's primary context: the one the CUDA runtime, and so LibTorch, runs in. Buffers
// allocated in it are device pointers the Engine can read and write. Retained once per device for
// the life of the process (the runtime holds it that long as well). Null when the driver lacks it.
CUcontext primary_context(int ordinal) {
  static std::mutex lock;
  static std::map<int, CUcontext> retained;
  std::lock_guard<std::mutex> g(lock);
  if (auto it = retained.find(ordinal); it != retained.end()) return it->second;
  // The driver's entry point through the runtime: the plugin does not link libcuda itself (it
  // loads without a driver; GStreamer's CUDA library opens the driver when one is there).
  using RetainFn = CUresult (*)(CUcontext *, CUdevice);
  void *fn = nullptr;
  cudaDriverEntryPointQueryResult found{};
  CUdevice device = 0;
  CUcontext ctx = nullptr;
  if (cudaGetDriverEntryPointByVersion("cuDevicePrimaryCtxRetain", &fn, 12000, cudaEnableDefault,
                                       &found) != cudaSuccess ||
      found != cudaDriverEntryPointSuccess || !fn ||
      CuDeviceGet(&device, ordinal) != CUDA_SUCCESS ||
      reinterpret_cast<RetainFn>(fn)(&ctx, device) != CUDA_SUCCESS) {
    GST_WARNING("cannot retain the primary CUDA context of GPU %d", ordinal);
    return nullptr;
  }
  retained[ordinal] = ctx;
  return ctx;
}

// One GstCudaContext per GPU wrapping its primary context, shared by every sapnetderain of the
// process (neighbours compare contexts by object, so two wrappers of one context would make them
// copy). Held weakly: it goes with its last user. Returns a new reference, or null.
GstCudaContext *shared_context(int ordinal, bool *created) {
  static std::mutex lock;
  static std::map<int, GWeakRef> contexts;  // never erased: GWeakRef must not move
  std::lock_guard<std::mutex> g(lock);
  *created = false;
  auto it = contexts.find(ordinal);
  if (it != contexts.end()) {
    if (gpointer ctx = g_weak_ref_get(&it->second)) return GST_CUDA_CONTEXT(ctx);
  }
  CUcontext primary = primary_context(ordinal);
  CUdevice device = 0;
  if (!primary || CuDeviceGet(&device, ordinal) != CUDA_SUCCESS) return nullptr;
  GstCudaContext *ctx = gst_cuda_context_new_wrapped(primary, device);
  if (!ctx) return nullptr;
  if (it == contexts.end())
    g_weak_ref_init(&contexts[ordinal], ctx);
  else
    g_weak_ref_set(&it->second, ctx);
  *created = true;
  return ctx;
}

int context_device(GstCudaContext *ctx) {
  guint id = 0;
  g_object_get(ctx, "cuda-device-id", &id, nullptr);
  return int(id);
}

// Makes `device` the calling thread's CUDA runtime device for a scope.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&previous_) == cudaSuccess && previous_ != device) cudaSetDevice(device);
  }
  ~DeviceScope() {
    if (previous_ >= 0) cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope &) = delete;
  DeviceScope &operator=(const DeviceScope &) = delete;

 private:
  int previous_ = -1;
};

void check(cudaError_t e, const char *what) {
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

// gst_video_frame_map for a scope.
class MappedFrame {
 public:
  MappedFrame(const GstVideoInfo *info, GstBuffer *buffer, GstMapFlags flags)
      : mapped_(gst_video_frame_map(&frame_, info, buffer, flags)) {}
  ~MappedFrame() {
    if (mapped_) gst_video_frame_unmap(&frame_);
  }
  MappedFrame(const MappedFrame &) = delete;
  MappedFrame &operator=(const MappedFrame &) = delete;
  bool ok() const { return mapped_; }
  GstVideoFrame *frame() { return &frame_; }

 private:
  GstVideoFrame frame_{};
  bool mapped_;
};

constexpr GstMapFlags kCudaRead = static_cast<GstMapFlags>(GST_MAP_READ | GST_MAP_CUDA);
constexpr GstMapFlags kCudaWrite = static_cast<GstMapFlags>(GST_MAP_WRITE | GST_MAP_CUDA);

}  // namespace

bool cuda_memory_usable(std::string *why) {
  static std::once_flag once;
  static bool usable = false;
  static std::string reason;
  std::call_once(once, [] {
    init_debug();
    int count = 0;
    if (!gst_cuda_load_library())
      reason = "GStreamer's CUDA library finds no CUDA driver (libcuda.so.1)";
    else if (CuInit(0) != CUDA_SUCCESS)
      reason = "the CUDA driver does not initialise (cuInit failed)";
    else if (CuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0)
      reason = "the CUDA driver sees no GPU";
    else
      usable = true;
    if (usable) gst_cuda_memory_init_once();
    GST_INFO("CUDA memory %s%s", usable ? "usable" : "unusable: ", reason.c_str());
  });
  if (why) *why = reason;
  return usable;
}

bool caps_have_cuda_memory(const GstCaps *caps) {
  if (!caps || gst_caps_is_empty(caps) || gst_caps_is_any(caps)) return false;
  GstCapsFeatures *f = gst_caps_get_features(caps, 0);
  return f && gst_caps_features_contains(f, GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY);
}

GstCaps *transform_memory_caps(GstCaps *caps, bool cuda, GstCaps *other_template) {
  GstCaps *variants;
  if (gst_caps_is_any(caps)) {
    variants = gst_caps_ref(caps);
  } else {
    variants = gst_caps_new_empty();
    for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
      const GstStructure *s = gst_caps_get_structure(caps, i);
      GstCapsFeatures *f = gst_caps_get_features(caps, i);
      const bool in_cuda = f && gst_caps_features_contains(f, GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY);
      auto append = [&](bool to_cuda) {
        if (to_cuda && !cuda) return;
        GstCapsFeatures *features =
            to_cuda ? gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY, nullptr)
                    : gst_caps_features_new_empty();
        variants = gst_caps_merge_structure_full(variants, gst_structure_copy(s), features);
      };
      append(in_cuda);   // the same memory first: a transform keeps it when it can
      append(!in_cuda);  // then the other
    }
  }
  GstCaps *out = gst_caps_intersect_full(variants, other_template, GST_CAPS_INTERSECT_FIRST);
  gst_caps_unref(variants);
  if (!cuda) {
    out = gst_caps_make_writable(out);
    for (guint i = gst_caps_get_size(out); i-- > 0;) {
      GstCapsFeatures *f = gst_caps_get_features(out, i);
      if (f && gst_caps_features_contains(f, GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY))
        gst_caps_remove_structure(out, i);
    }
  }
  return out;
}

struct CudaMemory::Impl {
  GstElement *element;
  std::mutex lock;  // guards the device name, its resolution and the context
  std::string device_name = "auto";
  bool resolved = false;
  int device = -1;
  GstCudaContext *context = nullptr;
  std::string fallback;  // the last reason frames went through system memory
  cudaEvent_t ready = nullptr, done = nullptr;
  int events_device = -1;

  explicit Impl(GstElement *e) : element(e) { init_debug(); }

  ~Impl() {
    gst_clear_object(&context);
    destroy_events();
  }

  void destroy_events() {
    if (events_device < 0) return;
    DeviceScope scope(events_device);
    if (ready) cudaEventDestroy(ready);
    if (done) cudaEventDestroy(done);
    ready = done = nullptr;
    events_device = -1;
  }

  // With `lock` held.
  int device_locked() {
    if (resolved) return device;
    resolved = true;
    device = -1;
    if (device_name == "cpu" || !cuda_memory_usable()) return device;
    try {
      const Device d = parse_device(device_name);
      if (d.cuda) device = d.index;
    } catch (const std::exception &e) {
      GST_DEBUG_OBJECT(element, "device \"%s\": %s", device_name.c_str(), e.what());
    }
    return device;
  }

  // The context to use (a new reference), made or found among the other sapnetderain's on
  // demand; null without CUDA. The message that offers it to the pipeline is posted outside the
  // lock (a bus handler may call set_context).
  GstCudaContext *context_ref() {
    GstCudaContext *ctx = nullptr;
    bool announce = false;
    {
      std::lock_guard<std::mutex> g(lock);
      const int d = device_locked();
      if (d < 0) return nullptr;
      if (!context || context_device(context) != d) {
        gst_clear_object(&context);
        bool created = false;
        context = shared_context(d, &created);
        if (!context) return nullptr;
        GST_INFO_OBJECT(element,
                        "CUDA context %" GST_PTR_FORMAT " (the primary context of GPU %d)%s",
                        context, d, created ? ", new" : "");
        announce = true;
      }
      ctx = GST_CUDA_CONTEXT(gst_object_ref(context));
    }
    // The pipeline keeps it for the elements that ask later.
    if (announce)
      gst_element_post_message(
          element,
          gst_message_new_have_context(GST_OBJECT(element), gst_context_new_cuda_context(ctx)));
    return ctx;
  }

  // Why `buffer` cannot be used in place ("" when it can).
  std::string unusable(GstBuffer *buffer, const char *which, int d) {
    if (gst_buffer_n_memory(buffer) != 1)
      return std::string(which) + " buffer has " + std::to_string(gst_buffer_n_memory(buffer)) +
             " memories";
    GstMemory *mem = gst_buffer_peek_memory(buffer, 0);
    if (!gst_is_cuda_memory(mem))
      return std::string(which) + " buffer is not CUDA memory (a neighbour without CUDA)";
    GstCudaContext *ctx = GST_CUDA_MEMORY_CAST(mem)->context;
    const int other = context_device(ctx);
    if (other != d)
      return std::string(which) + " buffer is CUDA memory of GPU " + std::to_string(other) +
             ", the network runs on GPU " + std::to_string(d);
    if (gst_cuda_context_get_handle(ctx) != primary_context(d))
      return std::string(which) +
             " buffer is CUDA memory of another CUDA context on this GPU, not the primary "
             "context the network runs in";
    return "";
  }
};

CudaMemory::CudaMemory(GstElement *element) : impl_(std::make_unique<Impl>(element)) {}
CudaMemory::~CudaMemory() = default;

void CudaMemory::set_device(const std::string &name) {
  std::lock_guard<std::mutex> g(impl_->lock);
  if (name == impl_->device_name) return;
  impl_->device_name = name.empty() ? "auto" : name;
  impl_->resolved = false;
}

int CudaMemory::device() {
  std::lock_guard<std::mutex> g(impl_->lock);
  return impl_->device_locked();
}

void CudaMemory::set_context(GstContext *context) {
  std::lock_guard<std::mutex> g(impl_->lock);
  const int d = impl_->device_locked();
  if (d < 0) return;
  GstCudaContext *other = nullptr;
  if (!gst_cuda_handle_set_context(impl_->element, context, d, &other) || !other) return;
  if (other == impl_->context) {
    gst_object_unref(other);
    return;
  }
  if (gst_cuda_context_get_handle(other) == primary_context(d)) {
    GST_INFO_OBJECT(impl_->element, "sharing the pipeline's CUDA context %" GST_PTR_FORMAT, other);
    gst_clear_object(&impl_->context);
    impl_->context = other;
  } else {
    // A context gst_cuda_context_new() made: LibTorch cannot run in it. Ours stays; buffers from
    // the other one are copied (can_process says so).
    GST_INFO_OBJECT(impl_->element,
                    "the pipeline's CUDA context %" GST_PTR_FORMAT
                    " is not GPU %d's primary context: keeping our own",
                    other, d);
    gst_object_unref(other);
  }
}

bool CudaMemory::handle_context_query(GstQuery *query) {
  const char *type = nullptr;
  if (!gst_query_parse_context_type(query, &type) || g_strcmp0(type, GST_CUDA_CONTEXT_TYPE) != 0)
    return false;
  GstCudaContext *ctx = impl_->context_ref();
  if (!ctx) return false;
  const bool answered = gst_cuda_handle_context_query(impl_->element, query, ctx);
  gst_object_unref(ctx);
  return answered;
}

void CudaMemory::reset() {
  std::lock_guard<std::mutex> g(impl_->lock);
  gst_clear_object(&impl_->context);
  impl_->fallback.clear();
}

// A CUDA buffer pool for `caps` with video meta; the size the pool settled on in `size`.
static GstBufferPool *configured_pool(GstBufferPool *pool, GstCaps *caps, guint *size, guint min,
                                      guint max) {
  GstStructure *config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  gst_buffer_pool_config_set_params(config, caps, *size, min, max);
  if (!gst_buffer_pool_set_config(pool, config)) {
    gst_object_unref(pool);
    return nullptr;
  }
  // The pool pads rows to the GPU's pitch: the size may have grown.
  config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_get_params(config, nullptr, size, nullptr, nullptr);
  gst_structure_free(config);
  return pool;
}

bool CudaMemory::propose_allocation(GstQuery *query) {
  GstCaps *caps = nullptr;
  gst_query_parse_allocation(query, &caps, nullptr);
  GstVideoInfo info;
  if (!caps || !gst_video_info_from_caps(&info, caps)) return false;
  GstCudaContext *ctx = impl_->context_ref();
  if (!ctx) return false;
  if (gst_query_get_n_allocation_pools(query) == 0) {
    guint size = GST_VIDEO_INFO_SIZE(&info);
    if (GstBufferPool *pool = configured_pool(gst_cuda_buffer_pool_new(ctx), caps, &size, 0, 0)) {
      gst_query_add_allocation_pool(query, pool, size, 0, 0);
      gst_object_unref(pool);
    } else {
      GST_WARNING_OBJECT(impl_->element, "the CUDA buffer pool refused %" GST_PTR_FORMAT, caps);
    }
  }
  gst_object_unref(ctx);
  gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
  return true;
}

bool CudaMemory::decide_allocation(GstQuery *query) {
  GstCaps *caps = nullptr;
  gst_query_parse_allocation(query, &caps, nullptr);
  GstVideoInfo info;
  if (!caps || !gst_video_info_from_caps(&info, caps)) return false;
  GstCudaContext *ctx = impl_->context_ref();
  if (!ctx) return false;
  GstBufferPool *pool = nullptr;
  guint size = 0, min = 0, max = 0;
  const bool update = gst_query_get_n_allocation_pools(query) > 0;
  if (update) gst_query_parse_nth_allocation_pool(query, 0, &pool, &size, &min, &max);
  // Downstream's pool only when it is a CUDA pool of this context.
  if (pool && (!GST_IS_CUDA_BUFFER_POOL(pool) || GST_CUDA_BUFFER_POOL(pool)->context != ctx))
    gst_clear_object(&pool);
  if (!pool) pool = gst_cuda_buffer_pool_new(ctx);
  gst_object_unref(ctx);
  size = std::max<guint>(size, GST_VIDEO_INFO_SIZE(&info));
  pool = configured_pool(pool, caps, &size, min, max);
  if (!pool) {
    GST_ERROR_OBJECT(impl_->element, "the CUDA buffer pool refused %" GST_PTR_FORMAT, caps);
    return false;
  }
  if (update)
    gst_query_set_nth_allocation_pool(query, 0, pool, size, min, max);
  else
    gst_query_add_allocation_pool(query, pool, size, min, max);
  gst_object_unref(pool);
  return true;
}

bool CudaMemory::can_process(GstBuffer *in, GstBuffer *out) {
  std::lock_guard<std::mutex> g(impl_->lock);
  const int d = impl_->device_locked();
  std::string why = d < 0 ? "CUDA memory is off (device cpu, or no driver)" : "";
  if (why.empty()) why = impl_->unusable(in, "the input", d);
  if (why.empty()) why = impl_->unusable(out, "the output", d);
  if (why.empty()) {
    if (!impl_->fallback.empty())
      GST_INFO_OBJECT(impl_->element, "CUDA memory in place again (was: %s)",
                      impl_->fallback.c_str());
    impl_->fallback.clear();
    return true;
  }
  if (why != impl_->fallback)
    GST_INFO_OBJECT(impl_->element, "copying through system memory: %s", why.c_str());
  else
    GST_LOG_OBJECT(impl_->element, "copying through system memory: %s", why.c_str());
  impl_->fallback = why;
  return false;
}

void CudaMemory::process(GstBuffer *in, const GstVideoInfo *in_info, GstBuffer *out,
                         const GstVideoInfo *out_info, const Run &run) {
  const int d = device();
  if (d < 0) throw Error("CUDA memory is off");
  DeviceScope scope(d);
  if (impl_->events_device != d) {
    impl_->destroy_events();
    check(cudaEventCreateWithFlags(&impl_->ready, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaEventCreateWithFlags(&impl_->done, cudaEventDisableTiming), "cudaEventCreate");
    impl_->events_device = d;
  }
  MappedFrame src(in_info, in, kCudaRead);
  if (!src.ok()) throw Error("cannot map the input buffer as CUDA memory");
  MappedFrame dst(out_info, out, kCudaWrite);
  if (!dst.ok()) throw Error("cannot map the output buffer as CUDA memory");
  // GStreamer 1.22's CUDA elements queue their copies on the context's legacy default stream
  // (and mapping may upload there): the Engine's own stream waits for what is queued so far.
  check(cudaEventRecord(impl_->ready, cudaStreamLegacy), "cudaEventRecord");
  run(view_of(src.frame()), view_of(dst.frame()), DeviceSync{impl_->ready, impl_->done});
  // Later work on the legacy stream comes after ours, and the buffer leaves finished.
  check(cudaStreamWaitEvent(cudaStreamLegacy, impl_->done, 0), "cudaStreamWaitEvent");
  check(cudaEventSynchronize(impl_->done), "cudaEventSynchronize");
}

}  // namespace sapnet::gst
