/**
 * SECTION:element-sapnetsegment
 * @title: sapnetsegment
 *
 * Runs a semantic segmenter exported to TorchScript on every frame. Its forward returns logits
 * 1 x C x H x W (or a dict holding them under "out", as torchvision's segmentation models do);
 * the argmax, resized to the frame (nearest), is attached to the buffer as a
 * SapnetSegmentationMeta (see sapnet_segmentation_meta.h: width, height, num_classes and one class
 * id byte per pixel). Frames reach the network as RGB in [0, 1], resized to input-width x
 * input-height (0: the frame's size) and normalised as (x - mean) / std.
 *
 * overlay=true blends a colour per class into the frame with weight overlay-alpha.
 * labels-location writes each class map as an 8-bit greyscale PNG of class ids (the format
 * `sapnet eval-segment` reads); a "%d"-style pattern in it takes the frame number.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=street.mp4 ! decodebin ! videoconvert ! sapnetderain ! \
 *     sapnetsegment model-location=deeplabv3.pt mean=0.485,0.456,0.406 std=0.229,0.224,0.225 \
 *     overlay=true ! videoconvert ! autovideosink
 * ]|
 */
#include "gstsapnetsegment.h"

#include <memory>
#include <mutex>
#include <string>

#include "error.h"
#include "frame_view.h"
#include "overlay.h"
#include "perception.h"
#include "perception_common.h"
#include "sapnet_segmentation_meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_sapnet_segment_debug);
#define GST_CAT_DEFAULT gst_sapnet_segment_debug

enum {
  PROP_0,
  PROP_MODEL_LOCATION,
  PROP_DEVICE,
  PROP_INPUT_WIDTH,
  PROP_INPUT_HEIGHT,
  PROP_MEAN,
  PROP_STD,
  PROP_OVERLAY,
  PROP_OVERLAY_ALPHA,
  PROP_LABELS_LOCATION,
};

#define DEFAULT_DEVICE "auto"
#define DEFAULT_MEAN "0,0,0"
#define DEFAULT_STD "1,1,1"
#define DEFAULT_OVERLAY FALSE
#define DEFAULT_OVERLAY_ALPHA 0.5

namespace {

// C++ state of the element, kept out of the GObject instance struct.
struct SegmentState {
  std::mutex lock;  // guards the settings
  std::string model_location, device = DEFAULT_DEVICE;
  int input_width = 0, input_height = 0;
  std::string mean = DEFAULT_MEAN, std = DEFAULT_STD;
  bool overlay = DEFAULT_OVERLAY;
  double overlay_alpha = DEFAULT_OVERLAY_ALPHA;
  std::string labels_location;

  // Streaming thread (and start/stop, serialised with it) only.
  std::unique_ptr<sapnet::Segmenter> segmenter;
  guint64 frames = 0;
};

}  // namespace

struct _GstSapnetSegment {
  GstVideoFilter parent;
  SegmentState *state;
};

G_DEFINE_TYPE(GstSapnetSegment, gst_sapnet_segment, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(sapnetsegment, "sapnetsegment", GST_RANK_NONE, GST_TYPE_SAPNET_SEGMENT);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));

static gboolean gst_sapnet_segment_start(GstBaseTransform *trans) {
  auto *self = GST_SAPNET_SEGMENT(trans);
  SegmentState *s = self->state;
  sapnet::PerceptionInput o;
  std::string mean, stdev, location;
  {
    std::lock_guard<std::mutex> g(s->lock);
    location = s->labels_location;
    o.model_path = s->model_location;
    o.device = s->device;
    o.input_width = s->input_width;
    o.input_height = s->input_height;
    mean = s->mean, stdev = s->std;
  }
  if (!sapnet::gst::parse_rgb_triplet(mean, &o.mean) ||
      !sapnet::gst::parse_rgb_triplet(stdev, &o.std)) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Invalid mean \"%s\" or std \"%s\": expected three numbers \"r,g,b\".",
                       mean.c_str(), stdev.c_str()),
                      (nullptr));
    return FALSE;
  }
  // Class maps are written frame by frame: a folder that cannot take them fails now.
  if (!location.empty()) {
    const std::string first = sapnet::gst::format_location(location, 0);
    const std::string why = sapnet::gst::unwritable_reason(first);
    if (!why.empty()) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                        ("Cannot write the class maps \"%s\": %s", first.c_str(), why.c_str()),
                        ("labels-location \"%s\"", location.c_str()));
      return FALSE;
    }
  }
  try {
    s->segmenter = std::make_unique<sapnet::Segmenter>(o);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(
        self, RESOURCE, OPEN_READ,
        ("Could not load the segmentation model \"%s\": %s", o.model_path.c_str(), e.what()),
        ("%s", e.what()));
    return FALSE;
  } catch (...) {
    GST_ELEMENT_ERROR(
        self, RESOURCE, OPEN_READ,
        ("Could not load the segmentation model \"%s\": unknown exception", o.model_path.c_str()),
        (nullptr));
    return FALSE;
  }
  GST_INFO_OBJECT(self, "segmenter %s on %s", o.model_path.c_str(), s->segmenter->device().c_str());
  s->frames = 0;
  return TRUE;
}

static gboolean gst_sapnet_segment_stop(GstBaseTransform *trans) {
  GST_SAPNET_SEGMENT(trans)->state->segmenter.reset();
  return TRUE;
}

static gboolean gst_sapnet_segment_set_info(GstVideoFilter *filter, GstCaps *,
                                            GstVideoInfo *in_info, GstCaps *, GstVideoInfo *) {
  sapnet::PixelFormat f;
  if (!sapnet::gst::pixel_format_of(GST_VIDEO_INFO_FORMAT(in_info), &f)) {
    GST_ERROR_OBJECT(filter, "unsupported format");
    return FALSE;
  }
  return TRUE;
}

static GstFlowReturn gst_sapnet_segment_transform_frame_ip(GstVideoFilter *filter,
                                                           GstVideoFrame *frame) {
  auto *self = GST_SAPNET_SEGMENT(filter);
  SegmentState *s = self->state;
  if (!s->segmenter) return GST_FLOW_NOT_NEGOTIATED;
  bool overlay;
  double alpha;
  std::string location;
  {
    std::lock_guard<std::mutex> g(s->lock);
    overlay = s->overlay;
    alpha = s->overlay_alpha;
    location = s->labels_location;
  }
  const sapnet::FrameView view = sapnet::gst::view_of(frame);
  std::string path;
  try {
    const sapnet::ClassMap map = s->segmenter->segment(view);
    const guint64 index = s->frames++;
    gst_buffer_add_sapnet_segmentation_meta(frame->buffer, map.width, map.height, map.num_classes,
                                            map.ids.data());
    if (overlay && alpha > 0) sapnet::blend_class_map(view, map.ids.data(), float(alpha));
    if (!location.empty()) {
      path = sapnet::gst::format_location(location, index);
      sapnet::gst::write_gray_png(path, map.ids.data(), map.width, map.height);
    }
  } catch (const std::exception &e) {
    if (!path.empty())
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                        ("Could not write the class map \"%s\": %s", path.c_str(), e.what()),
                        ("%s", e.what()));
    else
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Segmentation failed: %s", e.what()),
                        ("model %s", s->segmenter->options().model_path.c_str()));
    return GST_FLOW_ERROR;
  } catch (...) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Segmentation failed: unknown exception."),
                      ("model %s", s->segmenter->options().model_path.c_str()));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static void set_string(std::string *dst, const GValue *value, const char *fallback = "") {
  const char *v = g_value_get_string(value);
  *dst = v && *v ? v : fallback;
}

static void gst_sapnet_segment_set_property(GObject *object, guint prop_id, const GValue *value,
                                            GParamSpec *pspec) {
  SegmentState *s = GST_SAPNET_SEGMENT(object)->state;
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
    case PROP_OVERLAY_ALPHA:
      s->overlay_alpha = g_value_get_double(value);
      break;
    case PROP_LABELS_LOCATION:
      set_string(&s->labels_location, value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_sapnet_segment_get_property(GObject *object, guint prop_id, GValue *value,
                                            GParamSpec *pspec) {
  SegmentState *s = GST_SAPNET_SEGMENT(object)->state;
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
    case PROP_OVERLAY_ALPHA:
      g_value_set_double(value, s->overlay_alpha);
      break;
    case PROP_LABELS_LOCATION:
      g_value_set_string(value, s->labels_location.empty() ? nullptr : s->labels_location.c_str());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_sapnet_segment_finalize(GObject *object) {
  delete GST_SAPNET_SEGMENT(object)->state;
  G_OBJECT_CLASS(gst_sapnet_segment_parent_class)->finalize(object);
}

static void gst_sapnet_segment_class_init(GstSapnetSegmentClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  auto *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  auto *filter_class = GST_VIDEO_FILTER_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_sapnet_segment_debug, "sapnetsegment", 0,
                          "SAPNet TorchScript semantic segmentation");

  gobject_class->set_property = gst_sapnet_segment_set_property;
  gobject_class->get_property = gst_sapnet_segment_get_property;
  gobject_class->finalize = gst_sapnet_segment_finalize;

  // Settings read when the element starts (READY -> PAUSED).
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  const auto live = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                             GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      gobject_class, PROP_MODEL_LOCATION,
      g_param_spec_string("model-location", "Model location",
                          "TorchScript segmenter (.pt) returning logits 1 x C x H x W or "
                          "{\"out\": logits}",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device", "Where the segmenter runs: auto, cpu, cuda or cuda:N",
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
                          "\"0.485,0.456,0.406\")",
                          DEFAULT_MEAN, rw));
  g_object_class_install_property(
      gobject_class, PROP_STD,
      g_param_spec_string("std", "Standard deviation",
                          "Per-channel divisor \"r,g,b\" applied after the mean (ImageNet: "
                          "\"0.229,0.224,0.225\")",
                          DEFAULT_STD, rw));
  g_object_class_install_property(
      gobject_class, PROP_OVERLAY,
      g_param_spec_boolean("overlay", "Overlay", "Blend a colour per class into the frame",
                           DEFAULT_OVERLAY, live));
  g_object_class_install_property(
      gobject_class, PROP_OVERLAY_ALPHA,
      g_param_spec_double("overlay-alpha", "Overlay alpha",
                          "Weight of the class colours in the overlay (0: invisible, 1: opaque)", 0,
                          1, DEFAULT_OVERLAY_ALPHA,
                          static_cast<GParamFlags>(live | GST_PARAM_CONTROLLABLE)));
  g_object_class_install_property(
      gobject_class, PROP_LABELS_LOCATION,
      g_param_spec_string("labels-location", "Labels location",
                          "Write each class map here as an 8-bit PNG of class ids; a %d-style "
                          "pattern takes the frame number (e.g. pred/%05d.png)",
                          nullptr, live));

  gst_element_class_set_static_metadata(
      element_class, "SAPNet TorchScript semantic segmentation", "Filter/Analyzer/Video",
      "Segments frames with a TorchScript model and attaches the class map as a meta",
      "sapnet developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_sapnet_segment_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_sapnet_segment_stop);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_sapnet_segment_set_info);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_sapnet_segment_transform_frame_ip);
}

static void gst_sapnet_segment_init(GstSapnetSegment *self) {
  self->state = new SegmentState();
}
