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

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "engine.h"
#include "error.h"
#include "frame_view.h"

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
  PROP_FRAMES_PROCESSED,
  PROP_AVERAGE_LATENCY_MS,
  PROP_LAST_LATENCY_MS,
};

#define DEFAULT_DEVICE "auto"
#define DEFAULT_PRECISION SAPNET_PRECISION_AUTO
#define DEFAULT_STAGES 0
#define DEFAULT_TILE_SIZE 0
#define DEFAULT_TILE_OVERLAP 32
#define DEFAULT_ENABLED TRUE

typedef enum {
  SAPNET_PRECISION_AUTO,
  SAPNET_PRECISION_FP32,
  SAPNET_PRECISION_FP16
} SapnetPrecision;

static GType sapnet_precision_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {SAPNET_PRECISION_AUTO, "fp16 on CUDA, fp32 on the CPU", "auto"},
      {SAPNET_PRECISION_FP32, "32-bit float", "fp32"},
      {SAPNET_PRECISION_FP16, "16-bit float (CUDA only)", "fp16"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("SapnetPrecision", values));
  return type;
}

namespace {

const char *precision_name(int p) {
  return p == SAPNET_PRECISION_FP32 ? "fp32" : p == SAPNET_PRECISION_FP16 ? "fp16" : "auto";
}

// C++ state of the element, kept out of the GObject instance struct.
struct DerainState {
  std::mutex lock;             // guards the settings and statistics below
  std::string model_location;  // empty: the bundled model
  std::string device = DEFAULT_DEVICE;
  int precision = DEFAULT_PRECISION;
  int stages = DEFAULT_STAGES;
  int tile_size = DEFAULT_TILE_SIZE, tile_overlap = DEFAULT_TILE_OVERLAP;
  bool model_changed = false;    // model, device or precision changed: rebuild the Engine
  bool options_changed = false;  // stages or tiling changed: apply to the Engine
  guint64 frames = 0;
  double total_ms = 0, last_ms = 0;

  // Only the streaming thread (and start/stop, serialised with it) touches the Engine.
  std::unique_ptr<sapnet::Engine> engine;

  sapnet::EngineOptions options() {
    sapnet::EngineOptions o;
    o.model_path = model_location;
    o.device = device;
    o.precision = precision_name(precision);
    o.stages = stages;
    o.tile_size = tile_size;
    o.tile_overlap = tile_overlap;
    return o;
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

// Builds the Engine from the current settings; posts an element error and returns FALSE on failure.
static gboolean build_engine(GstSapnetDerain *self) {
  sapnet::EngineOptions options;
  {
    std::lock_guard<std::mutex> g(self->state->lock);
    options = self->state->options();
    self->state->model_changed = self->state->options_changed = false;
  }
  std::string path = options.model_path;
  try {
    if (path.empty()) path = sapnet::default_model_path();
    options.model_path = path;
    auto engine = std::make_unique<sapnet::Engine>(options);
    GST_INFO_OBJECT(self, "model %s (%s, %s), %d stage(s) on %s %s", path.c_str(),
                    engine->model_format().c_str(), engine->network().describe().c_str(),
                    engine->stages(), engine->device().c_str(), engine->precision().c_str());
    self->state->engine = std::move(engine);
    return TRUE;
  } catch (const std::exception &e) {
    self->state->engine.reset();
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                      ("Could not load the deraining model \"%s\".",
                       path.empty() ? "(bundled model)" : path.c_str()),
                      ("%s", e.what()));
    return FALSE;
  }
}

static gboolean gst_sapnet_derain_start(GstBaseTransform *trans) {
  auto *self = GST_SAPNET_DERAIN(trans);
  return build_engine(self);
}

static gboolean gst_sapnet_derain_stop(GstBaseTransform *trans) {
  auto *self = GST_SAPNET_DERAIN(trans);
  self->state->engine.reset();
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
  GST_DEBUG_OBJECT(filter, "negotiated %s %dx%d", sapnet::pixel_format_name(f),
                   GST_VIDEO_INFO_WIDTH(in_info), GST_VIDEO_INFO_HEIGHT(in_info));
  return TRUE;
}

static GstFlowReturn gst_sapnet_derain_transform_frame(GstVideoFilter *filter, GstVideoFrame *in,
                                                       GstVideoFrame *out) {
  auto *self = GST_SAPNET_DERAIN(filter);
  DerainState *s = self->state;
  bool rebuild, reconfigure;
  int stages, tile, overlap;
  {
    std::lock_guard<std::mutex> g(s->lock);
    rebuild = s->model_changed || !s->engine;
    reconfigure = s->options_changed;
    s->options_changed = false;
    stages = s->stages, tile = s->tile_size, overlap = s->tile_overlap;
  }
  if (rebuild && !build_engine(self)) return GST_FLOW_ERROR;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    if (reconfigure && !rebuild) {
      s->engine->set_stages(std::min(stages, s->engine->network().stages));
      s->engine->set_tiling(tile, overlap);
    }
    s->engine->process(sapnet::gst::view_of(in), sapnet::gst::view_of(out));
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Deraining failed."), ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::lock_guard<std::mutex> g(s->lock);
  s->frames++;
  s->total_ms += ms;
  s->last_ms = ms;
  return GST_FLOW_OK;
}

static void gst_sapnet_derain_set_property(GObject *object, guint prop_id, const GValue *value,
                                           GParamSpec *pspec) {
  auto *self = GST_SAPNET_DERAIN(object);
  DerainState *s = self->state;
  if (prop_id == PROP_ENABLED) {
    // Passthrough forwards buffers untouched, without a copy.
    gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), !g_value_get_boolean(value));
    return;
  }
  std::lock_guard<std::mutex> g(s->lock);
  switch (prop_id) {
    case PROP_MODEL_LOCATION: {
      const char *v = g_value_get_string(value);
      s->model_location = v ? v : "";
      s->model_changed = true;
      break;
    }
    case PROP_DEVICE: {
      const char *v = g_value_get_string(value);
      s->device = v && *v ? v : DEFAULT_DEVICE;
      s->model_changed = true;
      break;
    }
    case PROP_PRECISION:
      s->precision = g_value_get_enum(value);
      s->model_changed = true;
      break;
    case PROP_STAGES:
      s->stages = g_value_get_int(value);
      s->options_changed = true;
      break;
    case PROP_TILE_SIZE:
      s->tile_size = g_value_get_int(value);
      s->options_changed = true;
      break;
    case PROP_TILE_OVERLAP:
      s->tile_overlap = g_value_get_int(value);
      s->options_changed = true;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
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
  switch (prop_id) {
    case PROP_MODEL_LOCATION:
      g_value_set_string(value, s->model_location.empty() ? nullptr : s->model_location.c_str());
      break;
    case PROP_DEVICE:
      g_value_set_string(value, s->device.c_str());
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, s->precision);
      break;
    case PROP_STAGES:
      g_value_set_int(value, s->stages);
      break;
    case PROP_TILE_SIZE:
      g_value_set_int(value, s->tile_size);
      break;
    case PROP_TILE_OVERLAP:
      g_value_set_int(value, s->tile_overlap);
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
                        sapnet_precision_get_type(), DEFAULT_PRECISION, rw));
  g_object_class_install_property(
      gobject_class, PROP_STAGES,
      g_param_spec_int("stages", "Stages",
                       "Recurrent stages to run (0: all the model has, 6 for SAPNet); fewer is "
                       "faster and removes "
                       "less rain",
                       0, 6, DEFAULT_STAGES,
                       static_cast<GParamFlags>(rw | GST_PARAM_CONTROLLABLE)));
  g_object_class_install_property(
      gobject_class, PROP_TILE_SIZE,
      g_param_spec_int(
          "tile-size", "Tile size",
          "Process frames larger than this as overlapping tiles, to bound memory (0: whole frame)",
          0, 16384, DEFAULT_TILE_SIZE, rw));
  g_object_class_install_property(
      gobject_class, PROP_TILE_OVERLAP,
      g_param_spec_int("tile-overlap", "Tile overlap",
                       "Pixels shared by neighbouring tiles, blended without seams", 0, 8191,
                       DEFAULT_TILE_OVERLAP, rw));
  g_object_class_install_property(
      gobject_class, PROP_ENABLED,
      g_param_spec_boolean("enabled", "Enabled",
                           "Derain; false passes buffers through untouched, without a copy",
                           DEFAULT_ENABLED, static_cast<GParamFlags>(rw | GST_PARAM_CONTROLLABLE)));
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
  filter_class->transform_frame = GST_DEBUG_FUNCPTR(gst_sapnet_derain_transform_frame);
  gst_type_mark_as_plugin_api(sapnet_precision_get_type(), static_cast<GstPluginAPIFlags>(0));
}

static void gst_sapnet_derain_init(GstSapnetDerain *self) {
  self->state = new DerainState();
  // Late frames are dropped through QoS, as GstVideoFilter users expect.
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}
