/**
 * SECTION:element-rainsim
 * @title: rainsim
 *
 * Adds synthetic rain streaks (and optional haze) to video, with the same synthesizer `sapnet
 * train` uses to make training pairs. blend=add (the default) adds the streaks' light, the rain
 * model of the Rain100L/H test sets; blend=screen adds less over bright backgrounds. Heavy rain
 * takes more streak layers (layers=3), haze and drops on the lens (drops=2). The rain is
 * deterministic for a seed: frame N always gets the same streaks, so a demo or a test can show what
 * deraining does without rain footage.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! rainsim density=0.006 angle=15 ! sapnetderain !
 * autovideosink
 * ]|
 */
#include "gstrainsim.h"

#include <mutex>
#include <vector>

#include "controlled_properties.h"
#include "frame_fits.h"
#include "frame_view.h"
#include "rain.h"

GST_DEBUG_CATEGORY_STATIC(gst_rain_sim_debug);
#define GST_CAT_DEFAULT gst_rain_sim_debug

enum {
  PROP_0,
  PROP_DENSITY,
  PROP_ANGLE,
  PROP_LENGTH,
  PROP_WIDTH,
  PROP_BLUR,
  PROP_OPACITY,
  PROP_HAZE,
  PROP_LAYERS,
  PROP_DROPS,
  PROP_DROP_RADIUS,
  PROP_BLEND,
  PROP_SEED
};

#define GST_TYPE_RAIN_SIM_BLEND (gst_rain_sim_blend_get_type())
static GType gst_rain_sim_blend_get_type() {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {int(sapnet::RainBlend::kAdd), "Add the streaks' light (clipped at white)", "add"},
        {int(sapnet::RainBlend::kScreen), "Screen blend: less light over bright backgrounds",
         "screen"},
        {0, nullptr, nullptr}};
    g_once_init_leave(&type, g_enum_register_static("GstRainSimBlend", values));
  }
  return type;
}

namespace {

struct RainState {
  std::mutex lock;
  sapnet::RainParams params;
  guint64 seed = 0;
  guint64 frame = 0;          // since start or the last flushing seek: each its own streaks
  guint64 frame_number = 0;   // the frame being transformed
  std::vector<float> planar;  // reused conversion buffer
};

}  // namespace

struct _GstRainSim {
  GstVideoFilter parent;
  RainState *state;
};

G_DEFINE_TYPE(GstRainSim, gst_rain_sim, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(rainsim, "rainsim", GST_RANK_NONE, GST_TYPE_RAIN_SIM);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));

static gboolean gst_rain_sim_start(GstBaseTransform *trans) {
  GST_RAIN_SIM(trans)->state->frame = 0;
  return TRUE;
}

// A flushing seek starts the count anew: frame N after it gets the rain of frame N.
static gboolean gst_rain_sim_sink_event(GstBaseTransform *trans, GstEvent *event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    RainState *s = GST_RAIN_SIM(trans)->state;
    std::lock_guard<std::mutex> g(s->lock);
    s->frame = 0;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_rain_sim_parent_class)->sink_event(trans, event);
}

// Counted here, before QoS may drop the frame: frame N gets the rain of frame N whatever was
// dropped before it.
static void gst_rain_sim_before_transform(GstBaseTransform *trans, GstBuffer *buffer) {
  RainState *s = GST_RAIN_SIM(trans)->state;
  {
    std::lock_guard<std::mutex> g(s->lock);
    s->frame_number = s->frame++;
  }
  sapnet::gst::sync_controlled_properties(trans, buffer);
}

// A buffer too short for its caps is an error, not a frame passed on without rain.
static GstFlowReturn gst_rain_sim_transform_ip(GstBaseTransform *trans, GstBuffer *buffer) {
  if (!sapnet::gst::frame_fits(GST_ELEMENT(trans), buffer, &GST_VIDEO_FILTER(trans)->in_info))
    return GST_FLOW_ERROR;
  return GST_BASE_TRANSFORM_CLASS(gst_rain_sim_parent_class)->transform_ip(trans, buffer);
}

static GstFlowReturn gst_rain_sim_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame) {
  RainState *s = GST_RAIN_SIM(filter)->state;
  sapnet::RainParams params;
  guint64 seed;
  {
    std::lock_guard<std::mutex> g(s->lock);
    params = s->params;
    seed = s->seed * 1000003ull + s->frame_number;
  }
  // The synthesizer throws for parameters out of range (a NaN passes GLib's range check) and the
  // buffer may fail to grow: either is an element error, never an exception through GStreamer.
  try {
    const auto view = sapnet::gst::view_of(frame);
    s->planar.resize(size_t(3) * view.width * view.height);  // grows once per resolution
    sapnet::frame_to_planar_rgb(view, s->planar.data());
    sapnet::add_rain(s->planar.data(), view.width, view.height, params, seed);
    sapnet::planar_rgb_to_frame(s->planar.data(), view, sapnet::Rounding::kNearest);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(filter, STREAM, FAILED, ("Could not add rain: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  } catch (...) {
    GST_ELEMENT_ERROR(filter, STREAM, FAILED, ("Could not add rain: unknown exception."),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static void gst_rain_sim_set_property(GObject *object, guint prop_id, const GValue *value,
                                      GParamSpec *pspec) {
  RainState *s = GST_RAIN_SIM(object)->state;
  std::lock_guard<std::mutex> g(s->lock);
  switch (prop_id) {
    case PROP_DENSITY:
      s->params.density = g_value_get_double(value);
      break;
    case PROP_ANGLE:
      s->params.angle = g_value_get_double(value);
      break;
    case PROP_LENGTH:
      s->params.length = g_value_get_double(value);
      break;
    case PROP_WIDTH:
      s->params.width = g_value_get_double(value);
      break;
    case PROP_BLUR:
      s->params.blur = g_value_get_double(value);
      break;
    case PROP_OPACITY:
      s->params.opacity = g_value_get_double(value);
      break;
    case PROP_HAZE:
      s->params.haze = g_value_get_double(value);
      break;
    case PROP_LAYERS:
      s->params.layers = g_value_get_int(value);
      break;
    case PROP_DROPS:
      s->params.drops = g_value_get_double(value);
      break;
    case PROP_DROP_RADIUS:
      s->params.drop_radius = g_value_get_double(value);
      break;
    case PROP_BLEND:
      s->params.blend = static_cast<sapnet::RainBlend>(g_value_get_enum(value));
      break;
    case PROP_SEED:
      s->seed = g_value_get_uint64(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_rain_sim_get_property(GObject *object, guint prop_id, GValue *value,
                                      GParamSpec *pspec) {
  RainState *s = GST_RAIN_SIM(object)->state;
  std::lock_guard<std::mutex> g(s->lock);
  switch (prop_id) {
    case PROP_DENSITY:
      g_value_set_double(value, s->params.density);
      break;
    case PROP_ANGLE:
      g_value_set_double(value, s->params.angle);
      break;
    case PROP_LENGTH:
      g_value_set_double(value, s->params.length);
      break;
    case PROP_WIDTH:
      g_value_set_double(value, s->params.width);
      break;
    case PROP_BLUR:
      g_value_set_double(value, s->params.blur);
      break;
    case PROP_OPACITY:
      g_value_set_double(value, s->params.opacity);
      break;
    case PROP_HAZE:
      g_value_set_double(value, s->params.haze);
      break;
    case PROP_LAYERS:
      g_value_set_int(value, s->params.layers);
      break;
    case PROP_DROPS:
      g_value_set_double(value, s->params.drops);
      break;
    case PROP_DROP_RADIUS:
      g_value_set_double(value, s->params.drop_radius);
      break;
    case PROP_BLEND:
      g_value_set_enum(value, int(s->params.blend));
      break;
    case PROP_SEED:
      g_value_set_uint64(value, s->seed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_rain_sim_finalize(GObject *object) {
  delete GST_RAIN_SIM(object)->state;
  G_OBJECT_CLASS(gst_rain_sim_parent_class)->finalize(object);
}

static void install_double(GObjectClass *klass, guint id, const char *name, const char *nick,
                           const char *blurb, double lo, double hi, double def) {
  g_object_class_install_property(
      klass, id,
      g_param_spec_double(
          name, nick, blurb, lo, hi, def,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                   GST_PARAM_CONTROLLABLE | GST_PARAM_MUTABLE_PLAYING)));
}

static void gst_rain_sim_class_init(GstRainSimClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_rain_sim_debug, "rainsim", 0, "synthetic rain");
  gobject_class->set_property = gst_rain_sim_set_property;
  gobject_class->get_property = gst_rain_sim_get_property;
  gobject_class->finalize = gst_rain_sim_finalize;

  const sapnet::RainParams d;
  install_double(gobject_class, PROP_DENSITY, "density", "Density",
                 "Streaks per pixel of frame area", 0, 0.2, d.density);
  install_double(gobject_class, PROP_ANGLE, "angle", "Angle",
                 "Mean streak angle from vertical, degrees", -80, 80, d.angle);
  install_double(gobject_class, PROP_LENGTH, "length", "Length", "Mean streak length, pixels", 1,
                 400, d.length);
  install_double(gobject_class, PROP_WIDTH, "width", "Width", "Streak width, pixels", 0.1, 10,
                 d.width);
  install_double(gobject_class, PROP_BLUR, "blur", "Blur",
                 "Gaussian blur of the rain layer, pixels", 0, 10, d.blur);
  install_double(gobject_class, PROP_OPACITY, "opacity", "Opacity", "Brightness a streak adds", 0,
                 1, d.opacity);
  install_double(gobject_class, PROP_HAZE, "haze", "Haze", "Veil towards a bright sky", 0, 1,
                 d.haze);
  g_object_class_install_property(
      gobject_class, PROP_LAYERS,
      g_param_spec_int(
          "layers", "Layers",
          "Streak layers at growing depth (heavy rain: 2 or 3; each further layer "
          "denser, shorter, thinner, dimmer, softer)",
          1, 4, d.layers,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                   GST_PARAM_CONTROLLABLE | GST_PARAM_MUTABLE_PLAYING)));
  install_double(gobject_class, PROP_DROPS, "drops", "Drops",
                 "Drops on the lens per 10,000 pixels (the scene seen blurred through them)", 0, 50,
                 d.drops);
  install_double(gobject_class, PROP_DROP_RADIUS, "drop-radius", "Drop radius",
                 "Mean radius of a lens drop, pixels (each drop 0.5x to 1.5x)", 1, 100,
                 d.drop_radius);
  g_object_class_install_property(
      gobject_class, PROP_BLEND,
      g_param_spec_enum("blend", "Blend", "How the streaks join the frame", GST_TYPE_RAIN_SIM_BLEND,
                        int(d.blend),
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                 GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_uint64(
          "seed", "Seed",
          "Rain of frame N (counted from the start or the last flushing seek) depends on "
          "(seed, N) only",
          0, G_MAXUINT64, 0,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                   GST_PARAM_MUTABLE_PLAYING)));

  gst_element_class_set_static_metadata(
      element_class, "Synthetic rain", "Filter/Effect/Video",
      "Adds synthetic rain streaks to video (the sapnet training synthesizer)",
      "sapnet developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  GST_BASE_TRANSFORM_CLASS(klass)->start = GST_DEBUG_FUNCPTR(gst_rain_sim_start);
  GST_BASE_TRANSFORM_CLASS(klass)->sink_event = GST_DEBUG_FUNCPTR(gst_rain_sim_sink_event);
  GST_BASE_TRANSFORM_CLASS(klass)->before_transform =
      GST_DEBUG_FUNCPTR(gst_rain_sim_before_transform);
  GST_BASE_TRANSFORM_CLASS(klass)->transform_ip = GST_DEBUG_FUNCPTR(gst_rain_sim_transform_ip);
  GST_VIDEO_FILTER_CLASS(klass)->transform_frame_ip =
      GST_DEBUG_FUNCPTR(gst_rain_sim_transform_frame_ip);
}

static void gst_rain_sim_init(GstRainSim *self) {
  self->state = new RainState();
}
