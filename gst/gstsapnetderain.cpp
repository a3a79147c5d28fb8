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
 */
#include "gstsapnetderain.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine.h"
#include "error.h"
#include "frame_view.h"
#include "temporal_smoother.h"

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
  PROP_FRAMES_PROCESSED,
  PROP_AVERAGE_LATENCY_MS,
  PROP_LAST_LATENCY_MS,
};

#define DEFAULT_DEVICE "auto"
#define DEFAULT_PRECISION sapnet::Precision::kAuto
#define DEFAULT_STAGES 0
#define DEFAULT_TILE_SIZE 0
#define DEFAULT_TILE_OVERLAP -1  // auto: min(32, tile-size / 4)
#define DEFAULT_ENABLED TRUE

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
  double temporal = 0.0;  // temporal smoothing strength, 0 = off

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
  guint64 frames = 0;
  double total_ms = 0, last_ms = 0;

  // Only the streaming thread (and start/stop, serialised with it) touches these.
  std::unique_ptr<sapnet::Engine> engine;
  int tile = 0, overlap = 0;  // the tiling the Engine runs with (valid)
  // The temporal mode: what it carries from frame to frame, forgotten at a discontinuity, a
  // flush (seek) and new caps.
  std::optional<sapnet::TemporalSmoother> smoother;
  std::string warned_tiling;  // the invalid tiling last warned about

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

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));

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
    s->frames = 0;
    s->total_ms = s->last_ms = 0;
  }
  s->warned_tiling.clear();
  return build_engine(self, settings, true);
}

static gboolean gst_sapnet_derain_stop(GstBaseTransform *trans) {
  auto *self = GST_SAPNET_DERAIN(trans);
  self->state->engine.reset();
  self->state->smoother.reset();
  return TRUE;
}

static gboolean gst_sapnet_derain_set_info(GstVideoFilter *filter, GstCaps *, GstVideoInfo *in_info,
                                           GstCaps *, GstVideoInfo *out_info) {
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
  if (GST_SAPNET_DERAIN(filter)->state->smoother)
    GST_SAPNET_DERAIN(filter)->state->smoother->reset();
  GST_DEBUG_OBJECT(filter, "negotiated %s %dx%d (%s)", sapnet::pixel_format_name(f),
                   GST_VIDEO_INFO_WIDTH(in_info), GST_VIDEO_INFO_HEIGHT(in_info),
                   sapnet::colorimetry_name(colorimetry));
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
  // A seek flushes: what the temporal mode carries belongs to the old position.
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP && GST_SAPNET_DERAIN(trans)->state->smoother)
    GST_SAPNET_DERAIN(trans)->state->smoother->reset();
  return GST_BASE_TRANSFORM_CLASS(gst_sapnet_derain_parent_class)->sink_event(trans, event);
}

static GstFlowReturn gst_sapnet_derain_transform_frame(GstVideoFilter *filter, GstVideoFrame *in,
                                                       GstVideoFrame *out) {
  auto *self = GST_SAPNET_DERAIN(filter);
  DerainState *s = self->state;
  try {
    bool rebuild, reconfigure, gap;
    Settings settings;
    {
      // One snapshot: settings changed together are used together.
      std::lock_guard<std::mutex> g(s->lock);
      rebuild = s->model_changed || !s->engine;
      reconfigure = s->options_changed;
      gap = s->temporal_gap;
      s->model_changed = s->options_changed = s->temporal_gap = false;
      settings = s->live;
    }
    if (rebuild) {
      if (!build_engine(self, settings, false)) return GST_FLOW_ERROR;
    } else if (reconfigure && !apply_options(self, settings)) {
      return GST_FLOW_ERROR;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const sapnet::FrameView out_view = sapnet::gst::view_of(out);
    s->engine->process(sapnet::gst::view_of(in), out_view);
    smooth(s, settings.temporal, gap || GST_BUFFER_FLAG_IS_SET(in->buffer, GST_BUFFER_FLAG_DISCONT),
           out_view);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard<std::mutex> g(s->lock);
    s->frames++;
    s->total_ms += ms;
    s->last_ms = ms;
    return GST_FLOW_OK;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Deraining failed: %s", e.what()), (nullptr));
  } catch (...) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Deraining failed: unknown exception."), (nullptr));
  }
  return GST_FLOW_ERROR;
}

static void gst_sapnet_derain_set_property(GObject *object, guint prop_id, const GValue *value,
                                           GParamSpec *pspec) {
  auto *self = GST_SAPNET_DERAIN(object);
  DerainState *s = self->state;
  if (prop_id == PROP_ENABLED) {
    // Passthrough forwards buffers untouched, without a copy.
    gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), !g_value_get_boolean(value));
    std::lock_guard<std::mutex> g(s->lock);
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
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

// GObject calls this once the properties of one g_object_set() (or of a freeze_notify/thaw_notify
// block) are all set: the moment to make them live together.
static void gst_sapnet_derain_dispatch_properties_changed(GObject *object, guint n,
                                                          GParamSpec **pspecs) {
  DerainState *s = GST_SAPNET_DERAIN(object)->state;
  {
    std::lock_guard<std::mutex> g(s->lock);
    s->commit();
  }
  G_OBJECT_CLASS(gst_sapnet_derain_parent_class)->dispatch_properties_changed(object, n, pspecs);
}

static void gst_sapnet_derain_get_property(GObject *object, guint prop_id, GValue *value,
                                           GParamSpec *pspec) {
  auto *self = GST_SAPNET_DERAIN(object);
  DerainState *s = self->state;
  if (prop_id == PROP_ENABLED) {
    g_value_set_boolean(value, !gst_base_transform_is_passthrough(GST_BASE_TRANSFORM(self)));
    return;
  }
  std::lock_guard<std::mutex> g(s->lock);
  const Settings &p = s->pending;
  switch (prop_id) {
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
  gst_type_mark_as_plugin_api(sapnet_precision_get_type(), static_cast<GstPluginAPIFlags>(0));
}

static void gst_sapnet_derain_init(GstSapnetDerain *self) {
  self->state = new DerainState();
  // Late frames are dropped through QoS, as GstVideoFilter users expect.
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}
