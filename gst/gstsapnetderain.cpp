/**
 * SECTION:element-sapnetderain
 * @title: sapnetderain
 *
 * Removes rain streaks from video with SAPNet (Zheng et al., WACV 2022), a small recurrent network
 * run by LibTorch on the CPU or a CUDA GPU. The output has the input's format and size.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=rainy.mp4 ! decodebin ! videoconvert ! sapnetderain stages=4 ! \
 *     videoconvert ! x264enc ! mp4mux ! filesink location=derained.mp4
 * ]|
 *
 * Builds with GStreamer's CUDA library (gstreamer-cuda-1.0) and a CUDA LibTorch also take and give
 * `video/x-raw(memory:CUDAMemory)` (NV12, I420 at even heights, RGBA, BGRA, RGBx, BGRx): frames
 * stay on the GPU, read and written in place, when the neighbours share the GPU's primary CUDA
 * context (which this element offers them); otherwise they are copied through system memory.
 * |[
 * gst-launch-1.0 videotestsrc ! cudaupload ! sapnetderain ! cudadownload ! autovideosink
 * ]|
 */
#include "gstsapnetderain.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "controlled_properties.h"
#include "engine.h"
#include "error.h"
#include "frame_fits.h"
#include "frame_view.h"
#include "latency_budget.h"
#include "meta/sapnet_rain_meta.h"
#include "rain_gate.h"
#include "temporal_smoother.h"
#if SAPNET_GST_CUDA
#include "cuda_memory.h"
#endif

GST_DEBUG_CATEGORY_STATIC(gst_sapnet_derain_debug);
#define GST_CAT_DEFAULT gst_sapnet_derain_debug

enum {
  PROP_0,
  PROP_MODEL_LOCATION,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_STAGES,
  PROP_TILE_SIZE,
  PROP_TILE_OVERLAP,
  PROP_ENABLED,
  PROP_TEMPORAL,
  PROP_MAX_LATENCY_MS,
  PROP_SKIP_DRY,
  PROP_DRY_THRESHOLD,
  PROP_DRY_FRAMES,
  PROP_RAIN_META,
  PROP_FRAMES_PROCESSED,
  PROP_AVERAGE_LATENCY_MS,
  PROP_LAST_LATENCY_MS,
  PROP_CURRENT_STAGES,
  PROP_RAIN_SCORE,
  PROP_STATS,
};

#define DEFAULT_DEVICE "auto"
#define DEFAULT_PRECISION sapnet::Precision::kAuto
#define DEFAULT_STAGES 0
#define DEFAULT_TILE_SIZE 0
#define DEFAULT_TILE_OVERLAP -1  // auto: min(32, tile-size / 4)
#define DEFAULT_ENABLED TRUE
#define DEFAULT_DRY_THRESHOLD sapnet::kDefaultDryThreshold
#define DEFAULT_DRY_FRAMES 10

// The property's values are sapnet::Precision's, nicknamed as precision_name() names them.
static GType sapnet_precision_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {int(sapnet::Precision::kAuto), "fp16 on CUDA, fp32 on the CPU", "auto"},
      {int(sapnet::Precision::kFp32), "32-bit float", "fp32"},
      {int(sapnet::Precision::kFp16), "16-bit float (CUDA only)", "fp16"},
      {int(sapnet::Precision::kBf16), "bfloat16 (CUDA only)", "bf16"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("SapnetPrecision", values));
  return type;
}

namespace {

// The settings the properties hold.
struct Settings {
  std::string model_location;  // empty: the bundled model
  std::string device = DEFAULT_DEVICE;
  sapnet::Precision precision = DEFAULT_PRECISION;
  int stages = DEFAULT_STAGES;
  int tile_size = DEFAULT_TILE_SIZE, tile_overlap = DEFAULT_TILE_OVERLAP;
  double temporal = 0.0;      // temporal smoothing strength, 0 = off
  double max_latency_ms = 0;  // latency budget per frame, 0 = off
  bool skip_dry = false;      // pass dry frames through
  double dry_threshold = DEFAULT_DRY_THRESHOLD;
  int dry_frames = DEFAULT_DRY_FRAMES;
  bool rain_meta = false;  // measure every frame's rain and attach the meta

  bool measures_rain() const { return skip_dry || rain_meta; }

  bool same_model(const Settings &o) const {
    return model_location == o.model_location && device == o.device && precision == o.precision;
  }
  bool same_options(const Settings &o) const {
    return stages == o.stages && tile_size == o.tile_size && tile_overlap == o.tile_overlap;
  }
  // tile-overlap -1 (auto): a quarter of the tile, at most 32 pixels, always valid.
  int overlap() const {
    if (tile_overlap >= 0) return tile_overlap;
    return tile_size > 0 ? std::min(32, tile_size / 4) : 32;
  }
  // Why this tile-size/tile-overlap pair cannot be used ("" when it can).
  std::string tiling_problem() const {
    if (tile_size != 0 && tile_size < 16)
      return "tile-size " + std::to_string(tile_size) +
             " is too small: use 0 (whole frames) or at least 16";
    if (tile_size > 0 && overlap() * 2 >= tile_size)
      return "tile-overlap " + std::to_string(tile_overlap) + " is too large for tile-size " +
             std::to_string(tile_size) + ": use 0.." + std::to_string(tile_size / 2 - 1) +
             ", or -1 (auto, " + std::to_string(std::min(32, tile_size / 4)) + ")";
    return "";
  }
};

// C++ state of the element, kept out of the GObject instance struct.
struct DerainState {
  std::mutex lock;  // guards the settings and statistics below
  // What set_property wrote (and get_property reads).
  Settings pending;
  // What the streaming thread uses: `pending` as a whole, copied once every property of a
  // g_object_set() call (or of a g_object_freeze_notify() ... thaw block) is set, so that
  // properties changed together take effect together.
  Settings live;
  bool model_changed = false;    // model, device or precision changed: rebuild the Engine
  bool options_changed = false;  // stages or tiling changed: apply to the Engine
  bool temporal_gap = false;  // frames went by untouched (enabled=false): start the smoothing anew
  bool enabled = DEFAULT_ENABLED;
  guint64 frames = 0, frames_dry = 0;
  guint64 frames_cuda = 0;  // derained in CUDA memory in place (no copy)
  double total_ms = 0, last_ms = 0;
  double total_stages = 0;  // stages run, summed over the derained frames
  int current_stages = 0;   // stages run on the last derained frame
  guint64 stage_falls = 0, stage_climbs = 0;
  double rain_score = -1;  // the last measured frame's score, -1 before any

  // Set by QoS events (downstream's thread): a frame was late since the last one was derained.
  std::atomic<bool> qos_late{false};

  // Only the streaming thread (and start/stop, serialised with it) touches these.
  std::unique_ptr<sapnet::Engine> engine;
  int tile = 0, overlap = 0;  // the tiling the Engine runs with (valid)
  // The temporal mode: what it carries from frame to frame, forgotten at a discontinuity, a
  // flush (seek) and new caps.
  std::optional<sapnet::TemporalSmoother> smoother;
  std::string warned_tiling;     // the invalid tiling last warned about
  sapnet::LatencyBudget budget;  // the stages the latency budget allows
  double budget_ms = 0;          // the budget `budget` was set up for
  sapnet::RainGate gate;         // skip-dry's memory of dry frames
  // The frame in flight: the settings it uses and what before_transform measured on it.
  Settings frame;
  bool frame_failed = false;    // the Engine could not be (re)built for it: error posted
  bool frame_gap = false;       // frames went by untouched before it: the smoothing starts anew
  int frame_stages = 0;         // stages run on it
  bool frame_measured = false;  // frame_score holds its rain score
  bool frame_dry = false;       // passed through as dry
  double frame_score = 0;
  bool frame_copy = false;  // passed through, but the pads differ in memory: copied instead
  // Output buffers come from a pool decided for the current caps. Caps negotiated while passing
  // through decide none (the base class skips the allocation query then).
  bool pool_decided = false;

  // The negotiated memory of each pad (system memory unless this build has the CUDA part).
  bool in_cuda = false, out_cuda = false;
#if SAPNET_GST_CUDA
  std::unique_ptr<sapnet::gst::CudaMemory> cuda;
#endif

  // Forgets what is carried from frame to frame (discontinuity, flush, new caps, start).
  void forget_history() {
    if (smoother) smoother->reset();
    budget.reset();
    gate.reset();
  }

  // Makes `pending` live; call with `lock` held.
  void commit() {
    if (!pending.same_model(live)) model_changed = true;
    if (!pending.same_options(live)) options_changed = true;
    live = pending;
  }
};

}  // namespace

struct _GstSapnetDerain {
  GstVideoFilter parent;
  DerainState *state;
};

G_DEFINE_TYPE(GstSapnetDerain, gst_sapnet_derain, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(sapnetderain, "sapnetderain", GST_RANK_NONE, GST_TYPE_SAPNET_DERAIN);

// With the CUDA part, CUDA memory first: where both neighbours offer it, it is preferred.
#if SAPNET_GST_CUDA
#define SAPNET_DERAIN_CAPS SAPNET_CUDA_VIDEO_CAPS "; " SAPNET_VIDEO_CAPS
#else
#define SAPNET_DERAIN_CAPS SAPNET_VIDEO_CAPS
#endif
static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_DERAIN_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_DERAIN_CAPS));

// The reason of an Engine error, without the file name it starts with when that is `path`.
static std::string reason_of(const std::exception &e, const std::string &path) {
  std::string r = e.what();
  if (!path.empty() && r.rfind(path + ": ", 0) == 0) r.erase(0, path.size() + 2);
  return r;
}

// The stages a model has, against the stages asked for: posts an element error naming both and
// returns FALSE when the model has fewer.
static gboolean check_stages(GstSapnetDerain *self, const Settings &s, const sapnet::Engine &e) {
  const int most = e.network().stages;
  if (s.stages <= most) return TRUE;
  GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                    ("stages=%d, but the model \"%s\" has only %d stages (stages must be 0 for "
                     "all, or 1..%d).",
                     s.stages, e.model_path().c_str(), most, most),
                    ("model %s", e.network().describe().c_str()));
  return FALSE;
}

// Picks the tiling of `s` for the Engine. An invalid pair fails the start (element error, FALSE);
// while playing the Engine keeps its current tiling and a warning says why.
static gboolean choose_tiling(GstSapnetDerain *self, const Settings &s, bool starting) {
  DerainState *st = self->state;
  const std::string problem = s.tiling_problem();
  if (problem.empty()) {
    st->tile = s.tile_size;
    st->overlap = s.overlap();
    st->warned_tiling.clear();
    return TRUE;
  }
  if (starting) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid tiling: %s.", problem.c_str()),
                      ("tile-size %d, tile-overlap %d", s.tile_size, s.tile_overlap));
    return FALSE;
  }
  if (st->warned_tiling != problem) {
    st->warned_tiling = problem;
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS,
                        ("Invalid tiling: %s; keeping tile-size %d, tile-overlap %d.",
                         problem.c_str(), st->tile, st->overlap),
                        (nullptr));
  }
  return TRUE;
}

// Builds the Engine from `s`; posts an element error that says why and returns FALSE on failure.
static gboolean build_engine(GstSapnetDerain *self, const Settings &s, bool starting) {
  DerainState *st = self->state;
  st->engine.reset();
  if (starting) st->tile = st->overlap = 0;
  std::string path = s.model_location;
  try {
    if (!choose_tiling(self, s, starting)) return FALSE;
    sapnet::EngineOptions options;
    options.device = s.device;
    options.precision = s.precision;
    if (path.empty()) path = sapnet::default_model_path();
    options.model_path = path;
    auto engine = std::make_unique<sapnet::Engine>(options);  // all stages, whole frames
    if (!check_stages(self, s, *engine)) return FALSE;
    engine->set_stages(s.stages);
    engine->set_tiling(st->tile, st->overlap);
    GST_INFO_OBJECT(self, "model %s (%s, %s), %d stage(s) on %s %s, tiles %d/%d", path.c_str(),
                    engine->model_format().c_str(), engine->network().describe().c_str(),
                    engine->stages(), engine->device().c_str(),
                    sapnet::precision_name(engine->precision()), st->tile, st->overlap);
    st->engine = std::move(engine);
    return TRUE;
  } catch (const std::exception &e) {
    const std::string reason = reason_of(e, path);
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                      ("Could not load the deraining model \"%s\" (device %s, precision %s): %s",
                       path.empty() ? "(bundled model)" : path.c_str(), s.device.c_str(),
                       sapnet::precision_name(s.precision), reason.c_str()),
                      ("%s", e.what()));
  } catch (...) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                      ("Could not load the deraining model \"%s\": unknown exception",
                       path.empty() ? "(bundled model)" : path.c_str()),
                      (nullptr));
  }
  return FALSE;
}

// Applies changed stages and tiling to the running Engine (same rules as at start).
static gboolean apply_options(GstSapnetDerain *self, const Settings &s) {
  DerainState *st = self->state;
  try {
    if (!check_stages(self, s, *st->engine)) return FALSE;
    choose_tiling(self, s, false);
    st->engine->set_stages(s.stages);
    st->engine->set_tiling(st->tile, st->overlap);
    return TRUE;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not apply the settings: %s", e.what()),
                      (nullptr));
  } catch (...) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not apply the settings."), (nullptr));
  }
  return FALSE;
}

static gboolean gst_sapnet_derain_start(GstBaseTransform *trans) {
  auto *self = GST_SAPNET_DERAIN(trans);
  DerainState *s = self->state;
  Settings settings;
  {
    std::lock_guard<std::mutex> g(s->lock);
    s->live = s->pending;
    s->model_changed = s->options_changed = false;
    settings = s->live;
    s->frames = s->frames_dry = s->frames_cuda = s->stage_falls = s->stage_climbs = 0;
    s->total_ms = s->last_ms = s->total_stages = 0;
    s->current_stages = 0;
    s->rain_score = -1;
  }
  s->warned_tiling.clear();
  s->budget_ms = 0;
  s->budget.set_settings(sapnet::LatencyBudgetSettings{});
  s->forget_history();
  s->qos_late = false;
  return build_engine(self, settings, true);
}

static gboolean gst_sapnet_derain_stop(GstBaseTransform *trans) {
  auto *self = GST_SAPNET_DERAIN(trans);
  self->state->engine.reset();
  self->state->smoother.reset();
#if SAPNET_GST_CUDA
  self->state->cuda->reset();
#endif
  return TRUE;
}

static gboolean gst_sapnet_derain_set_info(GstVideoFilter *filter, GstCaps *incaps,
                                           GstVideoInfo *in_info, GstCaps *outcaps,
                                           GstVideoInfo *out_info) {
  sapnet::PixelFormat f;
  if (!sapnet::gst::pixel_format_of(GST_VIDEO_INFO_FORMAT(in_info), &f) ||
      GST_VIDEO_INFO_FORMAT(in_info) != GST_VIDEO_INFO_FORMAT(out_info) ||
      GST_VIDEO_INFO_WIDTH(in_info) != GST_VIDEO_INFO_WIDTH(out_info) ||
      GST_VIDEO_INFO_HEIGHT(in_info) != GST_VIDEO_INFO_HEIGHT(out_info)) {
    GST_ERROR_OBJECT(filter, "input and output caps must share a supported format and size");
    return FALSE;
  }
  bool exact = true;
  const auto colorimetry = sapnet::gst::colorimetry_of(in_info->colorimetry, &exact);
  if (!exact && !GST_VIDEO_INFO_IS_RGB(in_info))
    GST_WARNING_OBJECT(filter, "YUV matrix %d is neither BT.601 nor BT.709: converting as BT.601",
                       int(in_info->colorimetry.matrix));
  DerainState *s = GST_SAPNET_DERAIN(filter)->state;
  s->forget_history();
  s->pool_decided = false;  // decide_allocation follows, unless passing through
#if SAPNET_GST_CUDA
  s->in_cuda = sapnet::gst::caps_have_cuda_memory(incaps);
  s->out_cuda = sapnet::gst::caps_have_cuda_memory(outcaps);
#else
  (void)incaps;
  (void)outcaps;
#endif
  GST_DEBUG_OBJECT(filter, "negotiated %s %dx%d (%s), %s memory in, %s memory out",
                   sapnet::pixel_format_name(f), GST_VIDEO_INFO_WIDTH(in_info),
                   GST_VIDEO_INFO_HEIGHT(in_info), sapnet::colorimetry_name(colorimetry),
                   s->in_cuda ? "CUDA" : "system", s->out_cuda ? "CUDA" : "system");
  return TRUE;
}

// The temporal mode on a derained frame: off at strength 0; a new strength or a discontinuity
// starts it anew.
static void smooth(DerainState *s, double strength, bool discont, const sapnet::FrameView &out) {
  if (strength <= 0) {
    s->smoother.reset();
    return;
  }
  if (!s->smoother || s->smoother->settings().strength != float(strength)) {
    sapnet::TemporalSmoothing t;
    t.strength = float(strength);
    s->smoother.emplace(t);
  } else if (discont) {
    s->smoother->reset();
  }
  s->smoother->apply(out);
}

static gboolean gst_sapnet_derain_sink_event(GstBaseTransform *trans, GstEvent *event) {
  // A seek flushes: what is carried from frame to frame belongs to the old position.
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP)
    GST_SAPNET_DERAIN(trans)->state->forget_history();
  return GST_BASE_TRANSFORM_CLASS(gst_sapnet_derain_parent_class)->sink_event(trans, event);
}

// Makes the settings as they are now those of the next frame: the Engine is rebuilt when the
// model, device or precision changed, reconfigured when stages or tiling did. FALSE (error posted)
// when that failed.
static bool prepare_frame(GstSapnetDerain *self) {
  DerainState *s = self->state;
  bool rebuild, reconfigure;
  {
    // One snapshot: settings changed together are used together.
    std::lock_guard<std::mutex> g(s->lock);
    rebuild = s->model_changed || !s->engine;
    reconfigure = s->options_changed;
    s->frame_gap = s->temporal_gap;
    s->model_changed = s->options_changed = s->temporal_gap = false;
    s->frame = s->live;
  }
  if (rebuild) return build_engine(self, s->frame, false);
  if (reconfigure) return apply_options(self, s->frame);
  return true;
}

// The stages for the frame in flight: the most the model and `stages` allow, or fewer when the
// latency budget says so.
static int stages_for_frame(GstSapnetDerain *self) {
  DerainState *s = self->state;
  const int most = s->frame.stages > 0 ? s->frame.stages : s->engine->network().stages;
  s->budget.set_most_stages(most);
  if (s->frame.max_latency_ms != s->budget_ms) {
    if (s->budget_ms <= 0) {
      // The base class must not drop frames for lateness it saw before the budget was on.
      gst_base_transform_update_qos(GST_BASE_TRANSFORM(self), 1.0, -1, 0);
    }
    sapnet::LatencyBudgetSettings b;
    b.budget_ms = s->frame.max_latency_ms;
    s->budget.set_settings(b);
    s->budget_ms = b.budget_ms;
    s->qos_late = false;
  }
  return s->frame.max_latency_ms > 0 ? s->budget.stages() : most;
}

// Tells the application that the latency budget changed the stages (an element message next to
// a latency message, so that a live pipeline also looks at its latency again).
static void post_stages_changed(GstSapnetDerain *self, int from, int to, double ms, bool late) {
  GstStructure *info = gst_structure_new(
      "sapnetderain-stages", "stages", G_TYPE_INT, to, "previous-stages", G_TYPE_INT, from,
      "last-latency-ms", G_TYPE_DOUBLE, ms, "max-latency-ms", G_TYPE_DOUBLE,
      self->state->frame.max_latency_ms, "qos-late", G_TYPE_BOOLEAN, gboolean(late), nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), info));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

// The rain score of `buffer` (the caps' format), or -1 when it cannot be mapped.
static double measure_rain(GstSapnetDerain *self, GstBuffer *buffer) {
  GstVideoFilter *filter = GST_VIDEO_FILTER(self);
  GstVideoFrame frame;
  if (!filter->negotiated || !gst_video_frame_map(&frame, &filter->in_info, buffer, GST_MAP_READ))
    return -1;
  double score = -1;
  try {
    score = self->state->engine->rain_score(sapnet::gst::view_of(&frame));
  } catch (...) {
    gst_video_frame_unmap(&frame);
    throw;
  }
  gst_video_frame_unmap(&frame);
  return score;
}

// Passthrough forwards the input buffer itself: only right when both pads have the same memory.
// Otherwise the frame is copied from one memory to the other (frame_copy).
static void set_passthrough(GstSapnetDerain *self, bool on) {
  DerainState *s = self->state;
  auto *trans = GST_BASE_TRANSFORM(self);
  s->frame_copy = on && s->in_cuda != s->out_cuda;
  const bool passthrough = on && !s->frame_copy;
  // Leaving a passthrough under which the caps were negotiated: ask downstream for a pool now
  // (the base class renegotiates before this very buffer), or every output buffer would be a
  // plain system-memory allocation, even under CUDA-memory caps.
  if (!passthrough && !s->pool_decided && gst_base_transform_is_passthrough(trans))
    gst_base_transform_reconfigure_src(trans);
  gst_base_transform_set_passthrough(trans, passthrough);
}

// Before each frame: the settings it uses, its rain score when measured, and whether it passes
// through (enabled=false, or dry with skip-dry). Passthrough forwards the buffer itself.
static void gst_sapnet_derain_before_transform(GstBaseTransform *trans, GstBuffer *buffer) {
  auto *self = GST_SAPNET_DERAIN(trans);
  DerainState *s = self->state;
  // Controlled properties first: their values for this frame are committed as one set.
  sapnet::gst::sync_controlled_properties(trans, buffer);
  s->frame_measured = s->frame_dry = s->frame_failed = s->frame_copy = false;
  bool enabled;
  {
    std::lock_guard<std::mutex> g(s->lock);
    enabled = s->enabled;
  }
  if (!enabled) {
    set_passthrough(self, true);
    return;
  }
  if (!prepare_frame(self)) {
    s->frame_failed = true;
    set_passthrough(self, false);
    return;
  }
  bool dry = false;
  if (s->frame.measures_rain()) {
    try {
      const double score = measure_rain(self, buffer);
      if (score >= 0) {
        s->frame_measured = true;
        s->frame_score = score;
        if (s->frame.skip_dry) {
          s->gate.set_settings(
              sapnet::RainGateSettings{s->frame.dry_threshold, s->frame.dry_frames});
          dry = !s->gate.update(score);
        }
        std::lock_guard<std::mutex> g(s->lock);
        s->rain_score = score;
        if (dry) s->frames_dry++;
      }
    } catch (const std::exception &e) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Measuring the rain failed: %s", e.what()),
                        (nullptr));
      s->frame_failed = true;
    } catch (...) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Measuring the rain failed: unknown exception."),
                        (nullptr));
      s->frame_failed = true;
    }
  }
  if (!s->frame.skip_dry) s->gate.reset();
  // The output goes back to raw frames: the smoothing starts anew when deraining resumes.
  if (dry && s->smoother) s->smoother->reset();
  s->frame_dry = dry;
  set_passthrough(self, dry);
}

// Deraining changes no geometry, format or colour space, so every meta of the frame stays
// (regions of interest from an analytics element upstream among them, as on a frame passed
// through dry) except those that describe the input's memory.
static gboolean gst_sapnet_derain_transform_meta(GstBaseTransform *, GstBuffer *, GstMeta *meta,
                                                 GstBuffer *) {
  static const GQuark memory = g_quark_from_static_string(GST_META_TAG_MEMORY_STR);
  return !gst_meta_api_type_has_tag(meta->info->api, memory);
}

// One frame through the Engine: `process` derains it (with the stages set), `smooth_output` runs
// the temporal mode on the result (its argument: start anew); the statistics and the latency
// budget follow. The same for frames in system memory and in CUDA memory.
static GstFlowReturn derain(GstSapnetDerain *self, GstBuffer *inbuf,
                            const std::function<void()> &process,
                            const std::function<void(bool)> &smooth_output) {
  DerainState *s = self->state;
  if (s->frame_failed) return GST_FLOW_ERROR;
  try {
    const int stages = stages_for_frame(self);
    if (s->engine->stages() != stages) s->engine->set_stages(stages);
    const auto t0 = std::chrono::steady_clock::now();
    process();
    smooth_output(s->frame_gap || GST_BUFFER_FLAG_IS_SET(inbuf, GST_BUFFER_FLAG_DISCONT));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    s->frame_stages = stages;
    int next = stages;
    bool late = false;
    if (s->frame.max_latency_ms > 0) {
      late = s->qos_late.exchange(false);
      next = s->budget.update(stages, ms, late);
    }
    {
      std::lock_guard<std::mutex> g(s->lock);
      s->frames++;
      s->total_ms += ms;
      s->last_ms = ms;
      s->total_stages += stages;
      s->current_stages = stages;
      if (next < stages) s->stage_falls++;
      if (next > stages) s->stage_climbs++;
    }
    if (next != stages) {
      GST_INFO_OBJECT(self, "latency budget %.1f ms: %d -> %d stages (last frame %.1f ms%s)",
                      s->frame.max_latency_ms, stages, next, ms, late ? ", late" : "");
      post_stages_changed(self, stages, next, ms, late);
    }
    return GST_FLOW_OK;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Deraining failed: %s", e.what()), (nullptr));
  } catch (...) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Deraining failed: unknown exception."), (nullptr));
  }
  return GST_FLOW_ERROR;
}

static GstFlowReturn gst_sapnet_derain_transform_frame(GstVideoFilter *filter, GstVideoFrame *in,
                                                       GstVideoFrame *out) {
  auto *self = GST_SAPNET_DERAIN(filter);
  DerainState *s = self->state;
  const sapnet::FrameView out_view = sapnet::gst::view_of(out);
  return derain(
      self, in->buffer, [&] { s->engine->process(sapnet::gst::view_of(in), out_view); },
      [&](bool anew) { smooth(s, s->frame.temporal, anew, out_view); });
}

#if SAPNET_GST_CUDA
// A passed-through frame between pads of different memory: copied (GStreamer's CUDA memory maps
// to system memory and back).
static GstFlowReturn copy_frame(GstVideoFilter *filter, GstBuffer *inbuf, GstBuffer *outbuf) {
  GstVideoFrame in, out;
  const char *failed = nullptr;
  if (!gst_video_frame_map(&in, &filter->in_info, inbuf, GST_MAP_READ)) {
    failed = "cannot map the input frame";
  } else {
    if (!gst_video_frame_map(&out, &filter->out_info, outbuf, GST_MAP_WRITE)) {
      failed = "cannot map the output frame";
    } else {
      if (!gst_video_frame_copy(&out, &in)) failed = "the copy failed";
      gst_video_frame_unmap(&out);
    }
    gst_video_frame_unmap(&in);
  }
  if (!failed) return GST_FLOW_OK;
  GST_ELEMENT_ERROR(filter, STREAM, FAILED,
                    ("Passing a frame between system and CUDA memory failed: %s.", failed),
                    (nullptr));
  return GST_FLOW_ERROR;
}

#endif

// With CUDA memory on a pad: frames that are CUDA memory of the Engine's GPU go through the
// Engine in place (no copy); anything else through GstVideoFilter's system-memory mapping and
// transform_frame (a copy, said in the debug log), never a wrong frame. A buffer too short for
// its caps is an error, not an unwritten output frame.
static GstFlowReturn gst_sapnet_derain_transform(GstBaseTransform *trans, GstBuffer *inbuf,
                                                 GstBuffer *outbuf) {
  auto *filter = GST_VIDEO_FILTER(trans);
#if SAPNET_GST_CUDA
  auto *self = GST_SAPNET_DERAIN(trans);
  DerainState *s = self->state;
  if (s->frame_copy) return copy_frame(filter, inbuf, outbuf);
  if ((s->in_cuda || s->out_cuda) && !s->frame_failed && s->engine) {
    const int d = s->cuda->device();
    const int w = GST_VIDEO_INFO_WIDTH(&filter->in_info),
              h = GST_VIDEO_INFO_HEIGHT(&filter->in_info);
    const bool tiled = s->tile > 0 && (w > s->tile || h > s->tile);
    if (d >= 0 && s->engine->device() == "cuda:" + std::to_string(d) && !tiled &&
        s->cuda->can_process(inbuf, outbuf)) {
      const GstFlowReturn ret = derain(
          self, inbuf,
          [&] {
            s->cuda->process(
                inbuf, &filter->in_info, outbuf, &filter->out_info,
                [&](const sapnet::FrameView &in, const sapnet::FrameView &out,
                    const sapnet::DeviceSync &sync) { s->engine->process_device(in, out, sync); });
          },
          [&](bool anew) {
            if (s->frame.temporal <= 0) return smooth(s, 0, anew, {});
            // The temporal mode runs on the CPU: on a system-memory mapping of the output.
            GstVideoFrame out;
            if (!gst_video_frame_map(&out, &filter->out_info, outbuf, GST_MAP_READWRITE))
              throw sapnet::Error("cannot map the output for the temporal mode");
            try {
              smooth(s, s->frame.temporal, anew, sapnet::gst::view_of(&out));
            } catch (...) {
              gst_video_frame_unmap(&out);
              throw;
            }
            gst_video_frame_unmap(&out);
          });
      if (ret == GST_FLOW_OK) {
        std::lock_guard<std::mutex> g(s->lock);
        s->frames_cuda++;
      }
      return ret;
    }
  }
#endif
  if (!sapnet::gst::frame_fits(GST_ELEMENT(trans), inbuf, &filter->in_info)) return GST_FLOW_ERROR;
  return GST_BASE_TRANSFORM_CLASS(gst_sapnet_derain_parent_class)->transform(trans, inbuf, outbuf);
}

#if SAPNET_GST_CUDA

// Caps: each pad may be in system or CUDA memory (CUDA memory only where it can be used: a CUDA
// device property and a driver); the memory a pad has is kept when the other side allows it.
static GstCaps *gst_sapnet_derain_transform_caps(GstBaseTransform *trans, GstPadDirection direction,
                                                 GstCaps *caps, GstCaps *filter) {
  auto *self = GST_SAPNET_DERAIN(trans);
  GstPad *other = direction == GST_PAD_SINK ? GST_BASE_TRANSFORM_SRC_PAD(trans)
                                            : GST_BASE_TRANSFORM_SINK_PAD(trans);
  GstCaps *templ = gst_pad_get_pad_template_caps(other);
  GstCaps *out = sapnet::gst::transform_memory_caps(caps, self->state->cuda->enabled(), templ);
  gst_caps_unref(templ);
  if (filter) {
    GstCaps *both = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = both;
  }
  GST_LOG_OBJECT(self, "%s %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
                 direction == GST_PAD_SINK ? "sink" : "src", caps, out);
  return out;
}

static void gst_sapnet_derain_set_context(GstElement *element, GstContext *context) {
  GST_SAPNET_DERAIN(element)->state->cuda->set_context(context);
  GST_ELEMENT_CLASS(gst_sapnet_derain_parent_class)->set_context(element, context);
}

static gboolean gst_sapnet_derain_propose_allocation(GstBaseTransform *trans, GstQuery *decide,
                                                     GstQuery *query) {
  DerainState *s = GST_SAPNET_DERAIN(trans)->state;
  GstCaps *caps = nullptr;
  gst_query_parse_allocation(query, &caps, nullptr);
  if (sapnet::gst::caps_have_cuda_memory(caps)) {
    // In passthrough the base class asks downstream instead.
    if (gst_base_transform_is_passthrough(trans))
      return GST_BASE_TRANSFORM_CLASS(gst_sapnet_derain_parent_class)
          ->propose_allocation(trans, decide, query);
    return s->cuda->propose_allocation(query);
  }
  return GST_BASE_TRANSFORM_CLASS(gst_sapnet_derain_parent_class)
      ->propose_allocation(trans, decide, query);
}

#endif

static gboolean gst_sapnet_derain_decide_allocation(GstBaseTransform *trans, GstQuery *query) {
  DerainState *s = GST_SAPNET_DERAIN(trans)->state;
  s->pool_decided = true;
#if SAPNET_GST_CUDA
  GstCaps *caps = nullptr;
  gst_query_parse_allocation(query, &caps, nullptr);
  if (sapnet::gst::caps_have_cuda_memory(caps)) return s->cuda->decide_allocation(query);
#endif
  return GST_BASE_TRANSFORM_CLASS(gst_sapnet_derain_parent_class)->decide_allocation(trans, query);
}

// The rain meta goes on every measured frame, derained or passed through (a passed-through
// buffer is made writable, which shares its memory: the pixels are not copied).
static GstFlowReturn gst_sapnet_derain_generate_output(GstBaseTransform *trans,
                                                       GstBuffer **outbuf) {
  DerainState *s = GST_SAPNET_DERAIN(trans)->state;
  const GstFlowReturn ret =
      GST_BASE_TRANSFORM_CLASS(gst_sapnet_derain_parent_class)->generate_output(trans, outbuf);
  if (ret == GST_FLOW_OK && *outbuf && s->frame_measured) {
    *outbuf = gst_buffer_make_writable(*outbuf);
    gst_buffer_add_sapnet_rain_meta(*outbuf, s->frame_score, !s->frame_dry,
                                    s->frame_dry ? 0 : s->frame_stages);
    s->frame_measured = false;
  }
  return ret;
}

// With a latency budget, lateness reported by QoS costs stages instead of frames: neither the base
// class nor the elements upstream (decoders, videoconvert: they would drop the late frames before
// they get here) see a late report. Reports of frames on time go upstream as usual.
static gboolean gst_sapnet_derain_src_event(GstBaseTransform *trans, GstEvent *event) {
  DerainState *s = GST_SAPNET_DERAIN(trans)->state;
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    double budget;
    {
      std::lock_guard<std::mutex> g(s->lock);
      budget = s->live.max_latency_ms;
    }
    if (budget > 0) {
      GstClockTimeDiff diff = 0;
      gst_event_parse_qos(event, nullptr, nullptr, &diff, nullptr);
      if (diff > 0) {
        s->qos_late = true;
        gst_event_unref(event);
        return TRUE;
      }
      return gst_pad_push_event(GST_BASE_TRANSFORM_SINK_PAD(trans), event);
    }
  }
  return GST_BASE_TRANSFORM_CLASS(gst_sapnet_derain_parent_class)->src_event(trans, event);
}

// A frame may take up to the latency budget here: a live pipeline must allow for it.
static gboolean gst_sapnet_derain_query(GstBaseTransform *trans, GstPadDirection direction,
                                        GstQuery *query) {
#if SAPNET_GST_CUDA
  // Neighbours ask for a CUDA context: this element's (the GPU's primary context) is shared.
  if (GST_QUERY_TYPE(query) == GST_QUERY_CONTEXT &&
      GST_SAPNET_DERAIN(trans)->state->cuda->handle_context_query(query))
    return TRUE;
#endif
  if (!GST_BASE_TRANSFORM_CLASS(gst_sapnet_derain_parent_class)->query(trans, direction, query))
    return FALSE;
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    DerainState *s = GST_SAPNET_DERAIN(trans)->state;
    double budget;
    {
      std::lock_guard<std::mutex> g(s->lock);
      budget = s->live.max_latency_ms;
    }
    if (budget > 0) {
      gboolean live;
      GstClockTime min, max;
      gst_query_parse_latency(query, &live, &min, &max);
      const auto extra = GstClockTime(budget * GST_MSECOND);
      gst_query_set_latency(query, live, min + extra,
                            GST_CLOCK_TIME_IS_VALID(max) ? max + extra : max);
    }
  }
  return TRUE;
}

static void gst_sapnet_derain_set_property(GObject *object, guint prop_id, const GValue *value,
                                           GParamSpec *pspec) {
  auto *self = GST_SAPNET_DERAIN(object);
  DerainState *s = self->state;
  if (prop_id == PROP_ENABLED) {
    // Read by before_transform, which alone switches passthrough: a frame in flight keeps the
    // decision made for it.
    const bool enabled = g_value_get_boolean(value);
    std::lock_guard<std::mutex> g(s->lock);
    s->enabled = enabled;
    s->temporal_gap = true;
    return;
  }
  // Written to `pending`; dispatch_properties_changed makes the whole set live at once.
  std::lock_guard<std::mutex> g(s->lock);
  Settings &p = s->pending;
  switch (prop_id) {
    case PROP_MODEL_LOCATION: {
      const char *v = g_value_get_string(value);
      p.model_location = v ? v : "";
      break;
    }
    case PROP_DEVICE: {
      const char *v = g_value_get_string(value);
      p.device = v && *v ? v : DEFAULT_DEVICE;
#if SAPNET_GST_CUDA
      s->cuda->set_device(p.device);
#endif
      break;
    }
    case PROP_PRECISION:
      p.precision = static_cast<sapnet::Precision>(g_value_get_enum(value));
      break;
    case PROP_STAGES:
      p.stages = g_value_get_int(value);
      break;
    case PROP_TILE_SIZE:
      p.tile_size = g_value_get_int(value);
      break;
    case PROP_TILE_OVERLAP:
      p.tile_overlap = g_value_get_int(value);
      break;
    case PROP_TEMPORAL:
      p.temporal = g_value_get_double(value);
      break;
    case PROP_MAX_LATENCY_MS:
      p.max_latency_ms = g_value_get_double(value);
      break;
    case PROP_SKIP_DRY:
      p.skip_dry = g_value_get_boolean(value);
      break;
    case PROP_DRY_THRESHOLD:
      p.dry_threshold = g_value_get_double(value);
      break;
    case PROP_DRY_FRAMES:
      p.dry_frames = g_value_get_int(value);
      break;
    case PROP_RAIN_META:
      p.rain_meta = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

// GObject calls this once the properties of one g_object_set() (or of a freeze_notify/thaw_notify
// block) are all set: the moment to make them live together.
static void gst_sapnet_derain_dispatch_properties_changed(GObject *object, guint n,
                                                          GParamSpec **pspecs) {
  DerainState *s = GST_SAPNET_DERAIN(object)->state;
  bool latency_changed;
  {
    std::lock_guard<std::mutex> g(s->lock);
    latency_changed = s->pending.max_latency_ms != s->live.max_latency_ms;
    s->commit();
  }
  // The latency this element adds (the budget) changed: the pipeline asks again, and the latency
  // query already reads the new budget.
  if (latency_changed)
    gst_element_post_message(GST_ELEMENT(object), gst_message_new_latency(GST_OBJECT(object)));
  G_OBJECT_CLASS(gst_sapnet_derain_parent_class)->dispatch_properties_changed(object, n, pspecs);
}

static void gst_sapnet_derain_get_property(GObject *object, guint prop_id, GValue *value,
                                           GParamSpec *pspec) {
  auto *self = GST_SAPNET_DERAIN(object);
  DerainState *s = self->state;
  std::lock_guard<std::mutex> g(s->lock);
  const Settings &p = s->pending;
  switch (prop_id) {
    case PROP_ENABLED:
      g_value_set_boolean(value, s->enabled);
      break;
    case PROP_MODEL_LOCATION:
      g_value_set_string(value, p.model_location.empty() ? nullptr : p.model_location.c_str());
      break;
    case PROP_DEVICE:
      g_value_set_string(value, p.device.c_str());
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, int(p.precision));
      break;
    case PROP_STAGES:
      g_value_set_int(value, p.stages);
      break;
    case PROP_TILE_SIZE:
      g_value_set_int(value, p.tile_size);
      break;
    case PROP_TILE_OVERLAP:
      g_value_set_int(value, p.tile_overlap);
      break;
    case PROP_TEMPORAL:
      g_value_set_double(value, p.temporal);
      break;
    case PROP_MAX_LATENCY_MS:
      g_value_set_double(value, p.max_latency_ms);
      break;
    case PROP_SKIP_DRY:
      g_value_set_boolean(value, p.skip_dry);
      break;
    case PROP_DRY_THRESHOLD:
      g_value_set_double(value, p.dry_threshold);
      break;
    case PROP_DRY_FRAMES:
      g_value_set_int(value, p.dry_frames);
      break;
    case PROP_RAIN_META:
      g_value_set_boolean(value, p.rain_meta);
      break;
    case PROP_CURRENT_STAGES:
      g_value_set_int(value, s->current_stages);
      break;
    case PROP_RAIN_SCORE:
      g_value_set_double(value, s->rain_score);
      break;
    case PROP_STATS: {
      g_value_take_boxed(
          value, gst_structure_new(
                     "sapnetderain-stats", "frames-processed", G_TYPE_UINT64, s->frames,
                     "frames-passed-dry", G_TYPE_UINT64, s->frames_dry, "average-latency-ms",
                     G_TYPE_DOUBLE, s->frames ? s->total_ms / s->frames : 0.0, "last-latency-ms",
                     G_TYPE_DOUBLE, s->last_ms, "current-stages", G_TYPE_INT, s->current_stages,
                     "average-stages", G_TYPE_DOUBLE, s->frames ? s->total_stages / s->frames : 0.0,
                     "stage-falls", G_TYPE_UINT64, s->stage_falls, "stage-climbs", G_TYPE_UINT64,
                     s->stage_climbs, "rain-score", G_TYPE_DOUBLE, s->rain_score, nullptr));
#if SAPNET_GST_CUDA
      gst_structure_set(static_cast<GstStructure *>(g_value_get_boxed(value)),
                        "frames-in-cuda-memory", G_TYPE_UINT64, s->frames_cuda, nullptr);
#endif
      break;
    }
    case PROP_FRAMES_PROCESSED:
      g_value_set_uint64(value, s->frames);
      break;
    case PROP_AVERAGE_LATENCY_MS:
      g_value_set_double(value, s->frames ? s->total_ms / s->frames : 0.0);
      break;
    case PROP_LAST_LATENCY_MS:
      g_value_set_double(value, s->last_ms);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_sapnet_derain_finalize(GObject *object) {
  delete GST_SAPNET_DERAIN(object)->state;
  G_OBJECT_CLASS(gst_sapnet_derain_parent_class)->finalize(object);
}

static void gst_sapnet_derain_class_init(GstSapnetDerainClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  auto *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  auto *filter_class = GST_VIDEO_FILTER_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_sapnet_derain_debug, "sapnetderain", 0, "SAPNet rain removal");

  gobject_class->set_property = gst_sapnet_derain_set_property;
  gobject_class->get_property = gst_sapnet_derain_get_property;
  gobject_class->finalize = gst_sapnet_derain_finalize;
  gobject_class->dispatch_properties_changed = gst_sapnet_derain_dispatch_properties_changed;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_PLAYING);
  const auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_MODEL_LOCATION,
      g_param_spec_string(
          "model-location", "Model location",
          "Model file: a sapnet checkpoint or the released SAPNet/PReNet .pth (NULL: the bundled "
          "model; $SAPNET_MODEL overrides it). Changing it while playing reloads the model",
          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string(
          "device", "Device",
          "Where the network runs: auto (CUDA when the build and the machine have it), cpu, cuda "
          "or cuda:N",
          DEFAULT_DEVICE, rw));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision", "Arithmetic of the network",
                        sapnet_precision_get_type(), int(DEFAULT_PRECISION), rw));
  g_object_class_install_property(
      gobject_class, PROP_STAGES,
      g_param_spec_int("stages", "Stages",
                       "Recurrent stages to run: 0 runs all the loaded model has (6 for SAPNet); "
                       "fewer is faster and removes less rain. The range is 1 up to the model's "
                       "stage count: more than the model has is an error naming both numbers, "
                       "the same at start and at the next frame while playing",
                       0, sapnet::kMaxStages, DEFAULT_STAGES,
                       static_cast<GParamFlags>(rw | GST_PARAM_CONTROLLABLE)));
  g_object_class_install_property(
      gobject_class, PROP_TILE_SIZE,
      g_param_spec_int("tile-size", "Tile size",
                       "Process frames larger than this as overlapping tiles, to bound memory (0: "
                       "whole frames; else at least 16). tile-size and tile-overlap are checked "
                       "together when the next frame uses them: properties set in one "
                       "g_object_set() take effect together",
                       0, 16384, DEFAULT_TILE_SIZE, rw));
  g_object_class_install_property(
      gobject_class, PROP_TILE_OVERLAP,
      g_param_spec_int("tile-overlap", "Tile overlap",
                       "Pixels shared by neighbouring tiles, blended without seams; below half "
                       "of tile-size. -1: auto, min(32, tile-size / 4). An invalid pair fails "
                       "the start; while playing the element warns and keeps its tiling",
                       -1, 8191, DEFAULT_TILE_OVERLAP, rw));
  g_object_class_install_property(
      gobject_class, PROP_ENABLED,
      g_param_spec_boolean("enabled", "Enabled",
                           "Derain; false passes buffers through untouched, without a copy",
                           DEFAULT_ENABLED, static_cast<GParamFlags>(rw | GST_PARAM_CONTROLLABLE)));
  g_object_class_install_property(
      gobject_class, PROP_TEMPORAL,
      g_param_spec_double(
          "temporal", "Temporal smoothing",
          "Steadies the video: the share of the previous output a still pixel keeps (0 = off). "
          "The previous output first follows a panning or shaking camera; moving pixels, frames "
          "where a quarter of the picture still moves, discontinuities, seeks and new caps take "
          "the new frame as it is",
          0.0, 0.95, 0.0, static_cast<GParamFlags>(rw | GST_PARAM_CONTROLLABLE)));
  g_object_class_install_property(
      gobject_class, PROP_MAX_LATENCY_MS,
      g_param_spec_double(
          "max-latency-ms", "Maximum latency",
          "Latency budget per frame in milliseconds (0 = off). Frames that take longer, or that "
          "QoS reports late, make the element run fewer stages (down to 1) instead of dropping "
          "frames; it climbs back one stage at a time when frames leave room. The budget is "
          "added to the latency the element reports; stage changes are posted as "
          "\"sapnetderain-stages\" element messages with a latency message",
          0.0, 600000.0, 0.0, static_cast<GParamFlags>(rw | GST_PARAM_CONTROLLABLE)));
  g_object_class_install_property(
      gobject_class, PROP_SKIP_DRY,
      g_param_spec_boolean(
          "skip-dry", "Skip dry frames",
          "Measure each frame's rain score and pass frames through untouched (no copy) once "
          "dry-frames frames in a row scored under dry-threshold; deraining resumes on the first "
          "frame over it. Each measured buffer carries a SapnetRainMeta",
          FALSE, rw));
  g_object_class_install_property(
      gobject_class, PROP_DRY_THRESHOLD,
      g_param_spec_double("dry-threshold", "Dry threshold",
                          "Rain score (8-bit levels) under which a frame counts as dry", 0.0, 255.0,
                          DEFAULT_DRY_THRESHOLD, rw));
  g_object_class_install_property(
      gobject_class, PROP_DRY_FRAMES,
      g_param_spec_int("dry-frames", "Dry frames",
                       "Dry frames in a row before skip-dry passes frames through", 0, 100000,
                       DEFAULT_DRY_FRAMES, rw));
  g_object_class_install_property(
      gobject_class, PROP_RAIN_META,
      g_param_spec_boolean(
          "rain-meta", "Rain meta",
          "Measure every frame's rain score (one network stage on a copy shrunk to 128 pixels) "
          "and attach it as a SapnetRainMeta, also without skip-dry",
          FALSE, rw));
  g_object_class_install_property(
      gobject_class, PROP_CURRENT_STAGES,
      g_param_spec_int("current-stages", "Current stages",
                       "Stages run on the last derained frame (fewer than stages when the "
                       "latency budget cut them)",
                       0, sapnet::kMaxStages, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_RAIN_SCORE,
      g_param_spec_double("rain-score", "Rain score",
                          "The last measured frame's rain score in 8-bit levels (-1: none yet; "
                          "measured with skip-dry or rain-meta)",
                          -1.0, 255.0, -1.0, ro));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "sapnetderain-stats: frames-processed, frames-passed-dry, "
                         "average-latency-ms, last-latency-ms, current-stages, average-stages, "
                         "stage-falls, stage-climbs, rain-score (and frames-in-cuda-memory, "
                         "derained in GStreamer's CUDA memory without a copy, in builds that "
                         "take it)",
                         GST_TYPE_STRUCTURE, ro));
  g_object_class_install_property(
      gobject_class, PROP_FRAMES_PROCESSED,
      g_param_spec_uint64("frames-processed", "Frames processed",
                          "Frames derained since the element started", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_AVERAGE_LATENCY_MS,
      g_param_spec_double("average-latency-ms", "Average latency",
                          "Mean time to derain one frame, in milliseconds", 0, G_MAXDOUBLE, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_LAST_LATENCY_MS,
      g_param_spec_double("last-latency-ms", "Last latency",
                          "Time to derain the last frame, in milliseconds", 0, G_MAXDOUBLE, 0, ro));

  gst_element_class_set_static_metadata(element_class, "SAPNet rain removal", "Filter/Effect/Video",
                                        "Removes rain streaks from video with the SAPNet network",
                                        "sapnet developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_sapnet_derain_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_sapnet_derain_stop);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_sapnet_derain_set_info);
  GST_BASE_TRANSFORM_CLASS(klass)->sink_event = GST_DEBUG_FUNCPTR(gst_sapnet_derain_sink_event);
  filter_class->transform_frame = GST_DEBUG_FUNCPTR(gst_sapnet_derain_transform_frame);
  trans_class->before_transform = GST_DEBUG_FUNCPTR(gst_sapnet_derain_before_transform);
  trans_class->transform_meta = GST_DEBUG_FUNCPTR(gst_sapnet_derain_transform_meta);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_sapnet_derain_generate_output);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_sapnet_derain_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_sapnet_derain_query);
#if SAPNET_GST_CUDA
  element_class->set_context = GST_DEBUG_FUNCPTR(gst_sapnet_derain_set_context);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_sapnet_derain_transform_caps);
  trans_class->propose_allocation = GST_DEBUG_FUNCPTR(gst_sapnet_derain_propose_allocation);
#endif
  trans_class->transform = GST_DEBUG_FUNCPTR(gst_sapnet_derain_transform);
  trans_class->decide_allocation = GST_DEBUG_FUNCPTR(gst_sapnet_derain_decide_allocation);
  gst_type_mark_as_plugin_api(sapnet_precision_get_type(), static_cast<GstPluginAPIFlags>(0));
}

static void gst_sapnet_derain_init(GstSapnetDerain *self) {
  self->state = new DerainState();
#if SAPNET_GST_CUDA
  self->state->cuda = std::make_unique<sapnet::gst::CudaMemory>(GST_ELEMENT(self));
#endif
  // Late frames are dropped through QoS, as GstVideoFilter users expect.
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}
