#include "gstsapnetperceptionfilter.h"

#include <gst/video/video.h>

#include <mutex>
#include <string>

#include "controlled_properties.h"
#include "frame_fits.h"
#include "frame_view.h"
#include "property_parsing.h"

GST_DEBUG_CATEGORY_STATIC(gst_sapnet_perception_filter_debug);
#define GST_CAT_DEFAULT gst_sapnet_perception_filter_debug

enum {
  PROP_0,
  PROP_MODEL_LOCATION,
  PROP_DEVICE,
  PROP_INPUT_WIDTH,
  PROP_INPUT_HEIGHT,
  PROP_MEAN,
  PROP_STD,
  PROP_OVERLAY,
};

#define DEFAULT_DEVICE "auto"
#define DEFAULT_MEAN "0,0,0"
#define DEFAULT_STD "1,1,1"
#define DEFAULT_OVERLAY FALSE

namespace {

// What an exception that is not an ElementError becomes.
struct Failure {
  GQuark domain = 0;
  int code = 0;
  std::string prefix;  // before the exception's text
  std::string debug;   // "": the exception's text
};

// C++ state of the base, kept out of the GObject instance struct.
struct FilterState {
  std::mutex lock;  // guards the settings
  std::string model_location, device = DEFAULT_DEVICE;
  int input_width = 0, input_height = 0;
  std::string mean = DEFAULT_MEAN, std = DEFAULT_STD;
  bool overlay = DEFAULT_OVERLAY;

  // Streaming thread (and start/stop, serialised with it) only.
  bool open = false;
  Failure frame_failure;                     // built once per start, not per frame
  guint64 next_frame = 0, frame_number = 0;  // counted before QoS may drop a frame
};

}  // namespace

typedef struct {
  FilterState *state;
} GstSapnetPerceptionFilterPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE(GstSapnetPerceptionFilter, gst_sapnet_perception_filter,
                                    GST_TYPE_VIDEO_FILTER);

namespace {

FilterState *state_of(GstSapnetPerceptionFilter *self) {
  return static_cast<GstSapnetPerceptionFilterPrivate *>(
             gst_sapnet_perception_filter_get_instance_private(self))
      ->state;
}

void post_error(GstSapnetPerceptionFilter *self, GQuark domain, int code, const std::string &text,
                const std::string &debug) {
  gst_element_message_full(
      GST_ELEMENT(self), GST_MESSAGE_ERROR, domain, code, g_strdup(text.c_str()),
      debug.empty() ? nullptr : g_strdup(debug.c_str()), __FILE__, GST_FUNCTION, __LINE__);
}

// Runs fn(); an exception becomes an element error (see the class struct) and `failed` the result.
// No C++ exception may unwind into GStreamer's C code.
template <class R, class F>
R guard(GstSapnetPerceptionFilter *self, const Failure &failure, R failed, F &&fn) {
  try {
    try {
      return fn();
    } catch (const sapnet::gst::ElementError &e) {
      post_error(self, e.domain(), e.code(), e.what(), e.debug());
    } catch (const std::exception &e) {
      post_error(self, failure.domain, failure.code, failure.prefix + e.what(),
                 failure.debug.empty() ? e.what() : failure.debug);
    } catch (...) {
      post_error(self, failure.domain, failure.code, failure.prefix + "unknown exception",
                 failure.debug);
    }
  } catch (...) {  // even composing the message failed (out of memory)
    GST_ERROR_OBJECT(self, "an error could not be reported");
  }
  return failed;
}

// "Detection failed: " from "detection".
std::string failed_prefix(const char *task) {
  std::string s = task;
  if (!s.empty()) s[0] = g_ascii_toupper(s[0]);
  return s + " failed: ";
}

Failure stream_failure(GstSapnetPerceptionFilter *self, std::string debug = "") {
  return {GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
          failed_prefix(GST_SAPNET_PERCEPTION_FILTER_GET_CLASS(self)->task), std::move(debug)};
}

}  // namespace

static gboolean gst_sapnet_perception_filter_start(GstBaseTransform *trans) {
  auto *self = GST_SAPNET_PERCEPTION_FILTER(trans);
  auto *klass = GST_SAPNET_PERCEPTION_FILTER_GET_CLASS(self);
  FilterState *s = state_of(self);
  s->open = false;
  s->next_frame = 0;
  sapnet::PerceptionInput input;
  std::string mean, stdev;
  {
    std::lock_guard<std::mutex> g(s->lock);
    input.model_path = s->model_location;
    input.device = s->device;
    input.input_width = s->input_width;
    input.input_height = s->input_height;
    mean = s->mean, stdev = s->std;
  }
  const Failure load = {
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
      std::string("Could not load the ") + klass->task + " model \"" + input.model_path + "\": "};
  return guard(self, load, FALSE, [&]() -> gboolean {
    if (!sapnet::gst::parse_rgb_triplet(mean, &input.mean) ||
        !sapnet::gst::parse_rgb_triplet(stdev, &input.std))
      throw sapnet::gst::ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
                                      "Invalid mean \"" + mean + "\" or std \"" + stdev +
                                          "\": expected three numbers \"r,g,b\".");
    klass->open(self, input);
    s->frame_failure = stream_failure(self, "model " + input.model_path);
    s->open = true;
    return TRUE;
  });
}

static gboolean gst_sapnet_perception_filter_stop(GstBaseTransform *trans) {
  auto *self = GST_SAPNET_PERCEPTION_FILTER(trans);
  FilterState *s = state_of(self);
  const bool was_open = s->open;
  s->open = false;
  // A FALSE here would leave the pads active and hang the shutdown ("Failed to deactivate pad"):
  // errors are posted, the stop always succeeds.
  if (was_open)
    guard(self, s->frame_failure, TRUE, [&] {
      GST_SAPNET_PERCEPTION_FILTER_GET_CLASS(self)->close(self);
      return TRUE;
    });
  return TRUE;
}

static gboolean gst_sapnet_perception_filter_sink_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_SAPNET_PERCEPTION_FILTER(trans);
  auto *klass = GST_SAPNET_PERCEPTION_FILTER_GET_CLASS(self);
  FilterState *s = state_of(self);
  // The end of the stream is where results are complete, and an error still reaches the
  // application before it shuts the pipeline down.
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && s->open && klass->end_of_stream)
    guard(self, s->frame_failure, TRUE, [&] {
      klass->end_of_stream(self);
      return TRUE;
    });
  return GST_BASE_TRANSFORM_CLASS(gst_sapnet_perception_filter_parent_class)
      ->sink_event(trans, event);
}

static gboolean gst_sapnet_perception_filter_set_info(GstVideoFilter *filter, GstCaps *,
                                                      GstVideoInfo *in_info, GstCaps *,
                                                      GstVideoInfo *) {
  auto *self = GST_SAPNET_PERCEPTION_FILTER(filter);
  return guard(self, stream_failure(self), FALSE, [&]() -> gboolean {
    sapnet::PixelFormat f;
    if (sapnet::gst::pixel_format_of(GST_VIDEO_INFO_FORMAT(in_info), &f)) return TRUE;
    GST_ERROR_OBJECT(filter, "unsupported format");
    return FALSE;
  });
}

// A buffer too short for its caps is an error, not a frame passed on unseen.
static GstFlowReturn gst_sapnet_perception_filter_transform_ip(GstBaseTransform *trans,
                                                               GstBuffer *buffer) {
  if (!sapnet::gst::frame_fits(GST_ELEMENT(trans), buffer, &GST_VIDEO_FILTER(trans)->in_info))
    return GST_FLOW_ERROR;
  return GST_BASE_TRANSFORM_CLASS(gst_sapnet_perception_filter_parent_class)
      ->transform_ip(trans, buffer);
}

static GstFlowReturn gst_sapnet_perception_filter_transform_frame_ip(GstVideoFilter *filter,
                                                                     GstVideoFrame *frame) {
  auto *self = GST_SAPNET_PERCEPTION_FILTER(filter);
  FilterState *s = state_of(self);
  if (!s->open) return GST_FLOW_NOT_NEGOTIATED;
  bool overlay;
  {
    std::lock_guard<std::mutex> g(s->lock);
    overlay = s->overlay;
  }
  return guard(self, s->frame_failure, GST_FLOW_ERROR, [&] {
    GST_SAPNET_PERCEPTION_FILTER_GET_CLASS(self)->process(self, frame, sapnet::gst::view_of(frame),
                                                          overlay, s->frame_number);
    return GST_FLOW_OK;
  });
}

static void set_string(std::string *dst, const GValue *value, const char *fallback = "") {
  const char *v = g_value_get_string(value);
  *dst = v && *v ? v : fallback;
}

// Also set_property of the subclasses (gst_sapnet_perception_filter_class_route_properties): their
// own properties go to their hook.
static void gst_sapnet_perception_filter_set_property(GObject *object, guint prop_id,
                                                      const GValue *value, GParamSpec *pspec) {
  auto *self = GST_SAPNET_PERCEPTION_FILTER(object);
  guard(self, stream_failure(self), 0, [&] {
    if (pspec->owner_type != GST_TYPE_SAPNET_PERCEPTION_FILTER) {
      GST_SAPNET_PERCEPTION_FILTER_GET_CLASS(self)->set_setting(self, prop_id, value, pspec);
      return 0;
    }
    FilterState *s = state_of(self);
    std::lock_guard<std::mutex> g(s->lock);
    switch (prop_id) {
      case PROP_MODEL_LOCATION:
        set_string(&s->model_location, value);
        break;
      case PROP_DEVICE:
        set_string(&s->device, value, DEFAULT_DEVICE);
        break;
      case PROP_INPUT_WIDTH:
        s->input_width = g_value_get_int(value);
        break;
      case PROP_INPUT_HEIGHT:
        s->input_height = g_value_get_int(value);
        break;
      case PROP_MEAN:
        set_string(&s->mean, value, DEFAULT_MEAN);
        break;
      case PROP_STD:
        set_string(&s->std, value, DEFAULT_STD);
        break;
      case PROP_OVERLAY:
        s->overlay = g_value_get_boolean(value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
    return 0;
  });
}

static void gst_sapnet_perception_filter_get_property(GObject *object, guint prop_id, GValue *value,
                                                      GParamSpec *pspec) {
  auto *self = GST_SAPNET_PERCEPTION_FILTER(object);
  guard(self, stream_failure(self), 0, [&] {
    if (pspec->owner_type != GST_TYPE_SAPNET_PERCEPTION_FILTER) {
      GST_SAPNET_PERCEPTION_FILTER_GET_CLASS(self)->get_setting(self, prop_id, value, pspec);
      return 0;
    }
    FilterState *s = state_of(self);
    std::lock_guard<std::mutex> g(s->lock);
    switch (prop_id) {
      case PROP_MODEL_LOCATION:
        g_value_set_string(value, s->model_location.empty() ? nullptr : s->model_location.c_str());
        break;
      case PROP_DEVICE:
        g_value_set_string(value, s->device.c_str());
        break;
      case PROP_INPUT_WIDTH:
        g_value_set_int(value, s->input_width);
        break;
      case PROP_INPUT_HEIGHT:
        g_value_set_int(value, s->input_height);
        break;
      case PROP_MEAN:
        g_value_set_string(value, s->mean.c_str());
        break;
      case PROP_STD:
        g_value_set_string(value, s->std.c_str());
        break;
      case PROP_OVERLAY:
        g_value_set_boolean(value, s->overlay);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
    return 0;
  });
}

void gst_sapnet_perception_filter_class_route_properties(GstSapnetPerceptionFilterClass *klass) {
  G_OBJECT_CLASS(klass)->set_property = gst_sapnet_perception_filter_set_property;
  G_OBJECT_CLASS(klass)->get_property = gst_sapnet_perception_filter_get_property;
}

static void gst_sapnet_perception_filter_finalize(GObject *object) {
  delete state_of(GST_SAPNET_PERCEPTION_FILTER(object));
  G_OBJECT_CLASS(gst_sapnet_perception_filter_parent_class)->finalize(object);
}

// Runs for every frame, before the base class's QoS may drop it.
static void gst_sapnet_perception_filter_before_transform(GstBaseTransform *trans,
                                                          GstBuffer *buffer) {
  FilterState *s = state_of(GST_SAPNET_PERCEPTION_FILTER(trans));
  s->frame_number = s->next_frame++;
  sapnet::gst::sync_controlled_properties(trans, buffer);
}

static void gst_sapnet_perception_filter_class_init(GstSapnetPerceptionFilterClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  auto *filter_class = GST_VIDEO_FILTER_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_sapnet_perception_filter_debug, "sapnetperceptionfilter", 0,
                          "SAPNet perception elements' base");

  gst_sapnet_perception_filter_class_route_properties(klass);
  gobject_class->finalize = gst_sapnet_perception_filter_finalize;

  // Settings read when the element starts (READY -> PAUSED).
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_MODEL_LOCATION,
      g_param_spec_string("model-location", "Model location",
                          "TorchScript model (.pt, from torch.jit.script/trace + save); the "
                          "element's description says which outputs it takes",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device", "Where the model runs: auto, cpu, cuda or cuda:N",
                          DEFAULT_DEVICE, rw));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_WIDTH,
      g_param_spec_int("input-width", "Input width",
                       "Network input width; frames are resized to it (0: the frame's width)", 0,
                       16384, 0, rw));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_HEIGHT,
      g_param_spec_int("input-height", "Input height",
                       "Network input height; frames are resized to it (0: the frame's height)", 0,
                       16384, 0, rw));
  g_object_class_install_property(
      gobject_class, PROP_MEAN,
      g_param_spec_string("mean", "Mean",
                          "Per-channel mean \"r,g,b\" subtracted from RGB in [0, 1] (ImageNet: "
                          "\"0.485,0.456,0.406\"; torchvision detectors normalise themselves)",
                          DEFAULT_MEAN, rw));
  g_object_class_install_property(
      gobject_class, PROP_STD,
      g_param_spec_string("std", "Standard deviation",
                          "Per-channel divisor \"r,g,b\" applied after the mean (ImageNet: "
                          "\"0.229,0.224,0.225\")",
                          DEFAULT_STD, rw));
  g_object_class_install_property(
      gobject_class, PROP_OVERLAY,
      g_param_spec_boolean("overlay", "Overlay",
                           "Draw the results into the frame (detect: class-coloured box outlines "
                           "with a colour tab, luma only for NV12/I420; segment: a colour per "
                           "class blended in)",
                           DEFAULT_OVERLAY,
                           static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                    GST_PARAM_MUTABLE_PLAYING)));

  trans_class->start = GST_DEBUG_FUNCPTR(gst_sapnet_perception_filter_start);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_sapnet_perception_filter_transform_ip);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_sapnet_perception_filter_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_sapnet_perception_filter_sink_event);
  trans_class->before_transform = GST_DEBUG_FUNCPTR(gst_sapnet_perception_filter_before_transform);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_sapnet_perception_filter_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR(gst_sapnet_perception_filter_transform_frame_ip);
  gst_type_mark_as_plugin_api(GST_TYPE_SAPNET_PERCEPTION_FILTER, static_cast<GstPluginAPIFlags>(0));
}

static void gst_sapnet_perception_filter_init(GstSapnetPerceptionFilter *self) {
  static_cast<GstSapnetPerceptionFilterPrivate *>(
      gst_sapnet_perception_filter_get_instance_private(self))
      ->state = new FilterState();
}
