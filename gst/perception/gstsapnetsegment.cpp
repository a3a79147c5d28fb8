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

#include "frame_view.h"
#include "output_files.h"
#include "perception/overlay.h"
#include "perception/segmenter.h"
#include "sapnet_segmentation_meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_sapnet_segment_debug);
#define GST_CAT_DEFAULT gst_sapnet_segment_debug

// The shared properties (model-location, device, input size, mean, std, overlay) belong to
// GstSapnetPerceptionFilter.
enum {
  PROP_0,
  PROP_OVERLAY_ALPHA,
  PROP_LABELS_LOCATION,
};

#define DEFAULT_OVERLAY_ALPHA 0.5

namespace {

// C++ state of the element, kept out of the GObject instance struct.
struct SegmentState {
  std::mutex lock;  // guards the settings
  double overlay_alpha = DEFAULT_OVERLAY_ALPHA;
  std::string labels_location;

  // Streaming thread (and start/stop, serialised with it) only.
  std::unique_ptr<sapnet::Segmenter> segmenter;
};

using sapnet::gst::ElementError;

}  // namespace

struct _GstSapnetSegment {
  GstSapnetPerceptionFilter parent;
  SegmentState *state;
};

G_DEFINE_TYPE(GstSapnetSegment, gst_sapnet_segment, GST_TYPE_SAPNET_PERCEPTION_FILTER);
GST_ELEMENT_REGISTER_DEFINE(sapnetsegment, "sapnetsegment", GST_RANK_NONE, GST_TYPE_SAPNET_SEGMENT);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));

static void gst_sapnet_segment_open(GstSapnetPerceptionFilter *filter,
                                    const sapnet::PerceptionInput &input) {
  auto *self = GST_SAPNET_SEGMENT(filter);
  SegmentState *s = self->state;
  s->segmenter.reset();
  std::string location;
  {
    std::lock_guard<std::mutex> g(s->lock);
    location = s->labels_location;
  }
  // Class maps are written frame by frame: a pattern or folder that cannot take them fails now.
  if (!location.empty()) {
    const std::string bad_pattern = sapnet::gst::location_pattern_error(location);
    if (!bad_pattern.empty())
      throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
                         "Invalid labels-location: " + bad_pattern);
    const std::string first = sapnet::gst::format_location(location, 0);
    const std::string why = sapnet::gst::unwritable_reason(first);
    if (!why.empty())
      throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE,
                         "Cannot write the class maps \"" + first + "\": " + why,
                         "labels-location \"" + location + "\"");
  }
  s->segmenter = std::make_unique<sapnet::Segmenter>(input);
  GST_INFO_OBJECT(self, "segmenter %s on %s", input.model_path.c_str(),
                  s->segmenter->device().c_str());
}

static void gst_sapnet_segment_close(GstSapnetPerceptionFilter *filter) {
  GST_SAPNET_SEGMENT(filter)->state->segmenter.reset();
}

static void gst_sapnet_segment_process(GstSapnetPerceptionFilter *filter, GstVideoFrame *frame,
                                       const sapnet::FrameView &view, bool overlay, guint64 index) {
  SegmentState *s = GST_SAPNET_SEGMENT(filter)->state;
  double alpha;
  std::string location;
  {
    std::lock_guard<std::mutex> g(s->lock);
    alpha = s->overlay_alpha;
    location = s->labels_location;
  }
  const sapnet::ClassMap map = s->segmenter->segment(view);
  gst_buffer_add_sapnet_segmentation_meta(frame->buffer, map.width, map.height, map.num_classes,
                                          map.ids.data());
  if (overlay && alpha > 0) sapnet::blend_class_map(view, map.ids.data(), float(alpha));
  if (location.empty()) return;
  std::string path;
  try {
    path = sapnet::gst::format_location(location, index);
    sapnet::gst::write_gray_png(path, map.ids.data(), map.width, map.height);
  } catch (const std::exception &e) {
    throw ElementError(
        GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE,
        "Could not write the class map \"" + (path.empty() ? location : path) + "\": " + e.what(),
        e.what());
  }
}

static void gst_sapnet_segment_set_setting(GstSapnetPerceptionFilter *filter, guint prop_id,
                                           const GValue *value, GParamSpec *pspec) {
  SegmentState *s = GST_SAPNET_SEGMENT(filter)->state;
  std::lock_guard<std::mutex> g(s->lock);
  switch (prop_id) {
    case PROP_OVERLAY_ALPHA:
      s->overlay_alpha = g_value_get_double(value);
      break;
    case PROP_LABELS_LOCATION: {
      const char *v = g_value_get_string(value);
      s->labels_location = v ? v : "";
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(filter, prop_id, pspec);
  }
}

static void gst_sapnet_segment_get_setting(GstSapnetPerceptionFilter *filter, guint prop_id,
                                           GValue *value, GParamSpec *pspec) {
  SegmentState *s = GST_SAPNET_SEGMENT(filter)->state;
  std::lock_guard<std::mutex> g(s->lock);
  switch (prop_id) {
    case PROP_OVERLAY_ALPHA:
      g_value_set_double(value, s->overlay_alpha);
      break;
    case PROP_LABELS_LOCATION:
      g_value_set_string(value, s->labels_location.empty() ? nullptr : s->labels_location.c_str());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(filter, prop_id, pspec);
  }
}

static void gst_sapnet_segment_finalize(GObject *object) {
  delete GST_SAPNET_SEGMENT(object)->state;
  G_OBJECT_CLASS(gst_sapnet_segment_parent_class)->finalize(object);
}

static void gst_sapnet_segment_class_init(GstSapnetSegmentClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  auto *perception_class = GST_SAPNET_PERCEPTION_FILTER_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_sapnet_segment_debug, "sapnetsegment", 0,
                          "SAPNet TorchScript semantic segmentation");

  gobject_class->finalize = gst_sapnet_segment_finalize;
  gst_sapnet_perception_filter_class_route_properties(perception_class);

  const auto live = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                             GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      gobject_class, PROP_OVERLAY_ALPHA,
      g_param_spec_double("overlay-alpha", "Overlay alpha",
                          "Weight of the class colours in the overlay (0: invisible, 1: opaque)", 0,
                          1, DEFAULT_OVERLAY_ALPHA,
                          static_cast<GParamFlags>(live | GST_PARAM_CONTROLLABLE)));
  g_object_class_install_property(
      gobject_class, PROP_LABELS_LOCATION,
      g_param_spec_string("labels-location", "Labels location",
                          "Write each class map here as an 8-bit PNG of class ids; one %d-style "
                          "conversion takes the frame number (e.g. pred/%05d.png), %% is a %",
                          nullptr, live));

  gst_element_class_set_static_metadata(
      element_class, "SAPNet TorchScript semantic segmentation", "Filter/Analyzer/Video",
      "Segments frames with a TorchScript model and attaches the class map as a meta",
      "sapnet developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  perception_class->task = "segmentation";
  perception_class->open = gst_sapnet_segment_open;
  perception_class->close = gst_sapnet_segment_close;
  perception_class->process = gst_sapnet_segment_process;
  perception_class->set_setting = gst_sapnet_segment_set_setting;
  perception_class->get_setting = gst_sapnet_segment_get_setting;
}

static void gst_sapnet_segment_init(GstSapnetSegment *self) {
  self->state = new SegmentState();
}
