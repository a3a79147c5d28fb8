/**
 * SECTION:element-sapnetdetect
 * @title: sapnetdetect
 *
 * Runs an object detector exported to TorchScript on every frame and attaches one
 * #GstVideoRegionOfInterestMeta per box: its roi_type is the class name (from labels-file, else
 * "class-N") and it carries a "detection" parameter structure with the fields "label" (string),
 * "class-id" (int) and "confidence" (double); the metas' ids number the boxes of a buffer 0..n-1
 * (gst_buffer_get_video_region_of_interest_meta_id() then reads box i). Two output styles are
 * understood (output-format): torchvision's (boxes x1,y1,x2,y2, labels, scores; as a tuple, a dict,
 * or scripted torchvision's (losses, [dict])) and YOLO's (N x (4 + 1 + classes): cx, cy, w, h,
 * objectness, class scores; class-wise NMS is applied here; multi-label=true makes every class of a
 * box above the threshold a candidate, as YOLOv5's evaluation does). Frames are given to the
 * network as RGB in [0, 1], brought to input-width x input-height (0: the frame's size) by
 * resize=stretch or, keeping the aspect ratio, resize=letterbox (scaled to fit, centred, the border
 * filled with pad-value, as YOLOv5 expects), and normalised as (x - mean) / std. Boxes are mapped
 * back to frame pixels.
 *
 * With overlay=true the boxes are drawn into the frame: a 2-pixel outline in a colour per class and
 * a small filled tab of that colour in the top-left corner (no text; the class is in the meta).
 * NV12 and I420 frames get grey outlines on the luma plane.
 *
 * detections-file writes the detections as a COCO results list
 * ([{image_id, category_id, bbox [x, y, w, h], score}]) at the end of the stream (EOS) and when
 * the element stops. category_id is the model's class id, or the COCO category that category-map
 * gives it (a COCO annotation file: class i is its i-th category in id order). Frame N has
 * image_id image-ids[N] when image-ids lists them (one per frame), else image-id + N.
 * `sapnet eval-detect` scores such a file. A file that cannot be created fails the start.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=000000000139.jpg ! jpegdec ! videoconvert ! \
 *     sapnetdetect model-location=yolov5n_640.torchscript output-format=yolo input-width=640 \
 *     input-height=640 resize=letterbox score-threshold=0.001 nms-threshold=0.6 multi-label=true \
 *     category-map=instances_val2017.json image-id=139 detections-file=dt.json ! fakesink
 * ]|
 * |[
 * gst-launch-1.0 filesrc location=street.mp4 ! decodebin ! videoconvert ! sapnetderain ! \
 *     sapnetdetect model-location=fasterrcnn.pt labels-file=coco.txt overlay=true ! \
 *     videoconvert ! autovideosink
 * ]|
 */
#include "gstsapnetdetect.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frame_view.h"
#include "output_files.h"
#include "perception/detector.h"
#include "perception/label_files.h"
#include "perception/overlay.h"
#include "property_parsing.h"

GST_DEBUG_CATEGORY_STATIC(gst_sapnet_detect_debug);
#define GST_CAT_DEFAULT gst_sapnet_detect_debug

// The shared properties (model-location, device, input size, mean, std, overlay) belong to
// GstSapnetPerceptionFilter.
enum {
  PROP_0,
  PROP_OUTPUT_FORMAT,
  PROP_SCORE_THRESHOLD,
  PROP_NMS_THRESHOLD,
  PROP_LABELS_FILE,
  PROP_DETECTIONS_FILE,
  PROP_IMAGE_ID,
  PROP_IMAGE_IDS,
  PROP_RESIZE,
  PROP_PAD_VALUE,
  PROP_MULTI_LABEL,
  PROP_MAX_DETECTIONS,
  PROP_CATEGORY_MAP,
};

#define DEFAULT_OUTPUT_FORMAT SAPNET_DETECT_OUTPUT_TORCHVISION
#define DEFAULT_SCORE_THRESHOLD 0.5
#define DEFAULT_NMS_THRESHOLD 0.5
#define DEFAULT_IMAGE_ID 0
#define DEFAULT_RESIZE SAPNET_DETECT_RESIZE_STRETCH
#define DEFAULT_PAD_VALUE 114.0
#define DEFAULT_MULTI_LABEL FALSE
#define DEFAULT_MAX_DETECTIONS 0
typedef enum { SAPNET_DETECT_OUTPUT_TORCHVISION, SAPNET_DETECT_OUTPUT_YOLO } SapnetDetectOutput;

static GType sapnet_detect_output_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {SAPNET_DETECT_OUTPUT_TORCHVISION,
       "torchvision: boxes (x1,y1,x2,y2), labels, scores as a tuple or dict", "torchvision"},
      {SAPNET_DETECT_OUTPUT_YOLO, "YOLO: N x (cx,cy,w,h, objectness, class scores...)", "yolo"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("SapnetDetectOutput", values));
  return type;
}

typedef enum { SAPNET_DETECT_RESIZE_STRETCH, SAPNET_DETECT_RESIZE_LETTERBOX } SapnetDetectResize;

static GType sapnet_detect_resize_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {SAPNET_DETECT_RESIZE_STRETCH, "Resize to the input size (the aspect ratio may change)",
       "stretch"},
      {SAPNET_DETECT_RESIZE_LETTERBOX,
       "Scale to fit keeping the aspect ratio, centre, fill the border with pad-value (YOLOv5)",
       "letterbox"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("SapnetDetectResize", values));
  return type;
}

namespace {

// C++ state of the element, kept out of the GObject instance struct.
struct DetectState {
  std::mutex lock;  // guards the settings
  int output_format = DEFAULT_OUTPUT_FORMAT;
  double score_threshold = DEFAULT_SCORE_THRESHOLD, nms_threshold = DEFAULT_NMS_THRESHOLD;
  std::string labels_file, detections_file;
  gint64 image_id = DEFAULT_IMAGE_ID;
  std::string image_ids, category_map;
  int resize = DEFAULT_RESIZE;
  double pad_value = DEFAULT_PAD_VALUE;
  bool multi_label = DEFAULT_MULTI_LABEL;
  int max_detections = DEFAULT_MAX_DETECTIONS;

  // Streaming thread (and start/stop, serialised with it) only.
  std::unique_ptr<sapnet::Detector> detector;
  std::vector<std::string> labels;
  std::vector<int64_t> frame_ids;  // image-ids, parsed
  sapnet::CategoryMap categories;  // category-map, read (empty: class ids as they are)
  nlohmann::json results = nlohmann::json::array();
  std::string results_path;
  bool results_unsaved = false;  // results changed since they were last written
};

using sapnet::gst::ElementError;

}  // namespace

struct _GstSapnetDetect {
  GstSapnetPerceptionFilter parent;
  DetectState *state;
};

G_DEFINE_TYPE(GstSapnetDetect, gst_sapnet_detect, GST_TYPE_SAPNET_PERCEPTION_FILTER);
GST_ELEMENT_REGISTER_DEFINE(sapnetdetect, "sapnetdetect", GST_RANK_NONE, GST_TYPE_SAPNET_DETECT);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(SAPNET_VIDEO_CAPS));

static void gst_sapnet_detect_open(GstSapnetPerceptionFilter *filter,
                                   const sapnet::PerceptionInput &input) {
  auto *self = GST_SAPNET_DETECT(filter);
  DetectState *s = self->state;
  s->detector.reset();
  sapnet::DetectorOptions o;
  static_cast<sapnet::PerceptionInput &>(o) = input;
  std::string labels_file, image_ids, category_map;
  {
    std::lock_guard<std::mutex> g(s->lock);
    o.output = s->output_format == SAPNET_DETECT_OUTPUT_YOLO ? sapnet::DetectorOutput::kYolo
                                                             : sapnet::DetectorOutput::kTorchvision;
    o.score_threshold = static_cast<float>(s->score_threshold);
    o.nms_threshold = static_cast<float>(s->nms_threshold);
    o.resize = s->resize == SAPNET_DETECT_RESIZE_LETTERBOX ? sapnet::ResizeMode::kLetterbox
                                                           : sapnet::ResizeMode::kStretch;
    o.pad_value = static_cast<float>(s->pad_value / 255.0);
    o.multi_label = s->multi_label;
    o.max_detections = s->max_detections;
    labels_file = s->labels_file;
    image_ids = s->image_ids, category_map = s->category_map;
    s->results_path = s->detections_file;
  }
  // The detections are written at the end: a file that cannot be written fails now, not then.
  if (!s->results_path.empty()) {
    const std::string why = sapnet::gst::unwritable_reason(s->results_path);
    if (!why.empty())
      throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE,
                         "Cannot write the detections file \"" + s->results_path + "\": " + why,
                         "detections-file \"" + s->results_path + "\"");
  }
  try {
    s->frame_ids = sapnet::gst::parse_id_list(image_ids);
  } catch (const std::exception &e) {
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
                       std::string("Invalid image-ids: ") + e.what());
  }
  try {
    s->categories =
        category_map.empty() ? sapnet::CategoryMap() : sapnet::read_category_map(category_map);
  } catch (const std::exception &e) {
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
                       "Could not read the category map \"" + category_map + "\": " + e.what(),
                       e.what());
  }
  try {
    s->labels =
        labels_file.empty() ? std::vector<std::string>() : sapnet::read_class_names(labels_file);
  } catch (const std::exception &e) {
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
                       "Could not read the class names \"" + labels_file + "\": " + e.what(),
                       e.what());
  }
  // Without a labels file, the category map's names (a COCO file's) name the classes.
  if (s->labels.empty()) s->labels = s->categories.names;
  s->detector = std::make_unique<sapnet::Detector>(o);
  GST_INFO_OBJECT(self, "detector %s on %s, %zu class name(s)", o.model_path.c_str(),
                  s->detector->device().c_str(), s->labels.size());
  s->results = nlohmann::json::array();
  s->results_unsaved = !s->results_path.empty();  // an empty list is a result too
}

// Writes the COCO results list to detections-file; throws an ElementError when that fails.
static void write_results(GstSapnetDetect *self) {
  DetectState *s = self->state;
  if (s->results_path.empty() || !s->results_unsaved) return;
  s->results_unsaved = false;  // one error per failure, not one at EOS and another at stop
  std::string why;
  try {
    std::ofstream out(s->results_path);
    if (out) out << s->results.dump() << "\n";
    out.close();
    if (!out) why = std::strerror(errno);
  } catch (const std::exception &e) {
    why = e.what();
  }
  if (!why.empty())
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE,
                       "Could not write the detections to \"" + s->results_path + "\": " + why);
  GST_INFO_OBJECT(self, "wrote %zu detection(s) to %s", s->results.size(), s->results_path.c_str());
}

static void gst_sapnet_detect_end_of_stream(GstSapnetPerceptionFilter *filter) {
  write_results(GST_SAPNET_DETECT(filter));
}

static void gst_sapnet_detect_close(GstSapnetPerceptionFilter *filter) {
  auto *self = GST_SAPNET_DETECT(filter);
  self->state->detector.reset();
  write_results(self);  // a stream stopped before its end
}

static void gst_sapnet_detect_process(GstSapnetPerceptionFilter *filter, GstVideoFrame *frame,
                                      const sapnet::FrameView &view, bool overlay,
                                      guint64 frame_no) {
  auto *self = GST_SAPNET_DETECT(filter);
  DetectState *s = self->state;
  gint64 first_id;
  {
    std::lock_guard<std::mutex> g(s->lock);
    first_id = s->image_id;
  }
  const std::vector<sapnet::Detection> dets = s->detector->detect(view);
  if (!s->frame_ids.empty() && frame_no >= s->frame_ids.size())
    throw ElementError(GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                       "Frame " + std::to_string(frame_no) + " has no image id: image-ids lists " +
                           std::to_string(s->frame_ids.size()));
  const gint64 image_id =
      s->frame_ids.empty() ? first_id + static_cast<gint64>(frame_no) : s->frame_ids[frame_no];
  // ROI ids number the boxes of each buffer 0..n-1, so that bindings without meta iteration
  // (PyGObject) read them with gst_buffer_get_video_region_of_interest_meta_id(); boxes already on
  // the buffer (another detector upstream) keep theirs, and these follow them.
  gint roi_id = 0;
  gpointer iter = nullptr;
  while (gst_buffer_iterate_meta_filtered(frame->buffer, &iter,
                                          GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
    ++roi_id;
  for (const sapnet::Detection &d : dets) {
    const std::string name = sapnet::class_name(s->labels, d.class_id);
    const int x0 = static_cast<int>(std::floor(d.x)), y0 = static_cast<int>(std::floor(d.y));
    const int x1 = static_cast<int>(std::ceil(d.x + d.w)),
              y1 = static_cast<int>(std::ceil(d.y + d.h));
    GstVideoRegionOfInterestMeta *meta = gst_buffer_add_video_region_of_interest_meta(
        frame->buffer, name.c_str(), x0, y0, x1 - x0, y1 - y0);
    meta->id = roi_id++;
    gst_video_region_of_interest_meta_add_param(
        meta, gst_structure_new("detection", "label", G_TYPE_STRING, name.c_str(), "class-id",
                                G_TYPE_INT, d.class_id, "confidence", G_TYPE_DOUBLE,
                                static_cast<double>(d.score), nullptr));
    if (overlay)
      sapnet::draw_box(view, x0, y0, x1 - x0, y1 - y0, sapnet::class_colour(d.class_id + 1), 2, 6);
    if (s->results_path.empty()) continue;
    int64_t category = d.class_id;
    if (!s->categories.ids.empty()) {
      if (d.class_id < 0 || size_t(d.class_id) >= s->categories.ids.size())
        throw ElementError(GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                           "The detector found class " + std::to_string(d.class_id) +
                               ", but category-map has " +
                               std::to_string(s->categories.ids.size()) + " categories");
      category = s->categories.ids[d.class_id];
    }
    s->results.push_back({{"image_id", image_id},
                          {"category_id", category},
                          {"bbox", {d.x, d.y, d.w, d.h}},
                          {"score", d.score}});
    s->results_unsaved = true;
  }
  GST_LOG_OBJECT(self, "%zu detection(s)", dets.size());
}

static void set_string(std::string *dst, const GValue *value) {
  const char *v = g_value_get_string(value);
  *dst = v ? v : "";
}

static void gst_sapnet_detect_set_setting(GstSapnetPerceptionFilter *filter, guint prop_id,
                                          const GValue *value, GParamSpec *pspec) {
  DetectState *s = GST_SAPNET_DETECT(filter)->state;
  std::lock_guard<std::mutex> g(s->lock);
  switch (prop_id) {
    case PROP_OUTPUT_FORMAT:
      s->output_format = g_value_get_enum(value);
      break;
    case PROP_SCORE_THRESHOLD:
      s->score_threshold = g_value_get_double(value);
      break;
    case PROP_NMS_THRESHOLD:
      s->nms_threshold = g_value_get_double(value);
      break;
    case PROP_LABELS_FILE:
      set_string(&s->labels_file, value);
      break;
    case PROP_DETECTIONS_FILE:
      set_string(&s->detections_file, value);
      break;
    case PROP_IMAGE_ID:
      s->image_id = g_value_get_int64(value);
      break;
    case PROP_IMAGE_IDS:
      set_string(&s->image_ids, value);
      break;
    case PROP_RESIZE:
      s->resize = g_value_get_enum(value);
      break;
    case PROP_PAD_VALUE:
      s->pad_value = g_value_get_double(value);
      break;
    case PROP_MULTI_LABEL:
      s->multi_label = g_value_get_boolean(value);
      break;
    case PROP_MAX_DETECTIONS:
      s->max_detections = g_value_get_int(value);
      break;
    case PROP_CATEGORY_MAP:
      set_string(&s->category_map, value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(filter, prop_id, pspec);
  }
}

static void gst_sapnet_detect_get_setting(GstSapnetPerceptionFilter *filter, guint prop_id,
                                          GValue *value, GParamSpec *pspec) {
  DetectState *s = GST_SAPNET_DETECT(filter)->state;
  std::lock_guard<std::mutex> g(s->lock);
  const auto str = [](const std::string &v) { return v.empty() ? nullptr : v.c_str(); };
  switch (prop_id) {
    case PROP_OUTPUT_FORMAT:
      g_value_set_enum(value, s->output_format);
      break;
    case PROP_SCORE_THRESHOLD:
      g_value_set_double(value, s->score_threshold);
      break;
    case PROP_NMS_THRESHOLD:
      g_value_set_double(value, s->nms_threshold);
      break;
    case PROP_LABELS_FILE:
      g_value_set_string(value, str(s->labels_file));
      break;
    case PROP_DETECTIONS_FILE:
      g_value_set_string(value, str(s->detections_file));
      break;
    case PROP_IMAGE_ID:
      g_value_set_int64(value, s->image_id);
      break;
    case PROP_IMAGE_IDS:
      g_value_set_string(value, str(s->image_ids));
      break;
    case PROP_RESIZE:
      g_value_set_enum(value, s->resize);
      break;
    case PROP_PAD_VALUE:
      g_value_set_double(value, s->pad_value);
      break;
    case PROP_MULTI_LABEL:
      g_value_set_boolean(value, s->multi_label);
      break;
    case PROP_MAX_DETECTIONS:
      g_value_set_int(value, s->max_detections);
      break;
    case PROP_CATEGORY_MAP:
      g_value_set_string(value, str(s->category_map));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(filter, prop_id, pspec);
  }
}

static void gst_sapnet_detect_finalize(GObject *object) {
  delete GST_SAPNET_DETECT(object)->state;
  G_OBJECT_CLASS(gst_sapnet_detect_parent_class)->finalize(object);
}

static void gst_sapnet_detect_class_init(GstSapnetDetectClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  auto *perception_class = GST_SAPNET_PERCEPTION_FILTER_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_sapnet_detect_debug, "sapnetdetect", 0,
                          "SAPNet TorchScript object detection");

  gobject_class->finalize = gst_sapnet_detect_finalize;
  gst_sapnet_perception_filter_class_route_properties(perception_class);

  // Settings read when the element starts (READY -> PAUSED).
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_OUTPUT_FORMAT,
      g_param_spec_enum("output-format", "Output format", "What the detector's forward returns",
                        sapnet_detect_output_get_type(), DEFAULT_OUTPUT_FORMAT, rw));
  g_object_class_install_property(
      gobject_class, PROP_SCORE_THRESHOLD,
      g_param_spec_double("score-threshold", "Score threshold",
                          "Boxes scoring less are dropped (YOLO: objectness x class score)", 0, 1,
                          DEFAULT_SCORE_THRESHOLD, rw));
  g_object_class_install_property(
      gobject_class, PROP_NMS_THRESHOLD,
      g_param_spec_double("nms-threshold", "NMS IoU threshold",
                          "Class-wise non-maximum suppression: a box overlapping a better box of "
                          "its class by more than this IoU is dropped (1: keep all)",
                          0, 1, DEFAULT_NMS_THRESHOLD, rw));
  g_object_class_install_property(
      gobject_class, PROP_LABELS_FILE,
      g_param_spec_string("labels-file", "Labels file",
                          "Class names, one per line (line N names class id N); without it "
                          "classes are called class-N",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_DETECTIONS_FILE,
      g_param_spec_string("detections-file", "Detections file",
                          "Write all detections as a COCO results list (JSON) here at the end of "
                          "the stream and when the element stops (category_id: the model's class "
                          "id, or category-map's category); a file that cannot be created fails "
                          "the start",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_IMAGE_ID,
      g_param_spec_int64("image-id", "Image id",
                         "COCO image_id of the first frame in detections-file; frame N gets "
                         "image-id + N",
                         G_MININT64, G_MAXINT64, DEFAULT_IMAGE_ID, rw));
  g_object_class_install_property(
      gobject_class, PROP_IMAGE_IDS,
      g_param_spec_string("image-ids", "Image ids",
                          "COCO image_id of each frame in detections-file, \"id0,id1,...\" "
                          "(frame N gets the N-th; a frame beyond the list is an error); "
                          "overrides image-id",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_RESIZE,
      g_param_spec_enum("resize", "Resize",
                        "How frames are brought to input-width x input-height: stretched, or "
                        "letterboxed (aspect ratio kept, border filled with pad-value)",
                        sapnet_detect_resize_get_type(), DEFAULT_RESIZE, rw));
  g_object_class_install_property(
      gobject_class, PROP_PAD_VALUE,
      g_param_spec_double("pad-value", "Pad value",
                          "Letterbox border value on the 0..255 scale, every channel, before "
                          "mean/std (YOLOv5: 114)",
                          0, 255, DEFAULT_PAD_VALUE, rw));
  g_object_class_install_property(
      gobject_class, PROP_MULTI_LABEL,
      g_param_spec_boolean("multi-label", "Multi-label",
                           "YOLO: every class of a box scoring at least score-threshold is a "
                           "candidate (as YOLOv5's COCO evaluation does), not only the best",
                           DEFAULT_MULTI_LABEL, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_DETECTIONS,
      g_param_spec_int("max-detections", "Maximum detections",
                       "Keep the best this many boxes per frame after NMS (0: all; YOLOv5: 300)", 0,
                       G_MAXINT, DEFAULT_MAX_DETECTIONS, rw));
  g_object_class_install_property(
      gobject_class, PROP_CATEGORY_MAP,
      g_param_spec_string("category-map", "Category map",
                          "Class index to category_id for detections-file: a COCO annotation "
                          "file (class i = its i-th category in id order; the names label the "
                          "classes unless labels-file is set) or one id per line",
                          nullptr, rw));

  gst_element_class_set_static_metadata(
      element_class, "SAPNet TorchScript object detection", "Filter/Analyzer/Video",
      "Detects objects with a TorchScript model and attaches region-of-interest metas",
      "sapnet developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  perception_class->task = "detection";
  perception_class->open = gst_sapnet_detect_open;
  perception_class->close = gst_sapnet_detect_close;
  perception_class->end_of_stream = gst_sapnet_detect_end_of_stream;
  perception_class->process = gst_sapnet_detect_process;
  perception_class->set_setting = gst_sapnet_detect_set_setting;
  perception_class->get_setting = gst_sapnet_detect_get_setting;
  gst_type_mark_as_plugin_api(sapnet_detect_output_get_type(), static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(sapnet_detect_resize_get_type(), static_cast<GstPluginAPIFlags>(0));
}

static void gst_sapnet_detect_init(GstSapnetDetect *self) {
  self->state = new DetectState();
}
