/* An analytics app around the sapnet elements: decode a video, derain, detect, segment, and read
 * the results from an appsink: the detections as GstVideoRegionOfInterestMeta, the class map as
 * SapnetSegmentationMeta, the rain score as SapnetRainMeta (with --derain-options rain-meta=true).
 * Prints one JSON line per frame.
 *   c++ -std=c++17 detect_json.cpp -o detect_json $(pkg-config --cflags --libs \
 *       gstreamer-app-1.0 gstreamer-video-1.0 gstreamer-sapnet-meta-1.0)
 *   ./detect_json --input street.avi --detector yolov5n.torchscript \
 *       --detector-options "output-format=yolo input-width=640 input-height=640 resize=letterbox" \
 *       --segmenter espnet.torchscript --frames 10
 * Without --input the frames come from videotestsrc. */
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/sapnet/sapnetmeta.h>
#include <gst/video/video.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Options {
  gchar *input = nullptr, *detector = nullptr, *segmenter = nullptr;
  gchar *derain_options = nullptr, *detector_options = nullptr, *segmenter_options = nullptr;
  gint frames = 10, width = 320, height = 240;
};

std::string json_string(const char *s) {
  std::string out = "\"";
  for (const char *p = s ? s : ""; *p; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

// The detections: one ROI meta per box, its "detection" parameter holds label, class and score.
std::string regions_json(GstBuffer *buffer) {
  std::string out = "[";
  gpointer state = nullptr;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state,
                                                  GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    const auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta);
    const GstStructure *det = gst_video_region_of_interest_meta_get_param(
        const_cast<GstVideoRegionOfInterestMeta *>(roi), "detection");
    gint class_id = -1;
    gdouble confidence = 0;
    if (det) {
      gst_structure_get_int(det, "class-id", &class_id);
      gst_structure_get_double(det, "confidence", &confidence);
    }
    char numbers[160];
    std::snprintf(numbers, sizeof numbers,
                  ",\"class\":%d,\"confidence\":%.4f,\"box\":[%u,%u,%u,%u]}", class_id, confidence,
                  roi->x, roi->y, roi->w, roi->h);
    if (out.size() > 1) out += ',';
    out += "{\"label\":" + json_string(g_quark_to_string(roi->roi_type)) + numbers;
  }
  return out + "]";
}

// The class map: its size and how many pixels each class covers.
std::string segmentation_json(GstBuffer *buffer) {
  const SapnetSegmentationMeta *m = gst_buffer_get_sapnet_segmentation_meta(buffer);
  if (!m) return "null";
  std::vector<guint64> pixels(m->num_classes, 0);
  for (gsize i = 0; i < gsize(m->width) * m->height; ++i)
    if (m->class_map[i] < m->num_classes) ++pixels[m->class_map[i]];
  std::string out = "{\"width\":" + std::to_string(m->width) +
                    ",\"height\":" + std::to_string(m->height) +
                    ",\"classes\":" + std::to_string(m->num_classes) + ",\"pixels\":[";
  for (size_t c = 0; c < pixels.size(); ++c) out += (c ? "," : "") + std::to_string(pixels[c]);
  return out + "]}";
}

// The rain meta (sapnetderain with rain-meta=true or skip-dry=true): the frame's rain score and
// whether it was derained.
std::string rain_json(GstBuffer *buffer) {
  const SapnetRainMeta *m = gst_buffer_get_sapnet_rain_meta(buffer);
  if (!m) return "null";
  char out[96];
  std::snprintf(out, sizeof out, "{\"score\":%.4f,\"derained\":%s,\"stages\":%d}", m->score,
                m->derained ? "true" : "false", m->stages);
  return out;
}

std::string pipeline_description(const Options &o) {
  auto opt = [](const gchar *s) { return std::string(s ? s : ""); };
  std::string d = o.input ? "filesrc name=src ! decodebin" : "videotestsrc pattern=ball";
  d += " ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=" + std::to_string(o.width) +
       ",height=" + std::to_string(o.height) + " ! framelimit frames=" + std::to_string(o.frames);
  d += " ! sapnetderain " + opt(o.derain_options);
  d += " ! sapnetdetect name=detect " + opt(o.detector_options);
  if (o.segmenter) d += " ! sapnetsegment name=segment " + opt(o.segmenter_options);
  return d + " ! appsink name=sink sync=false";
}

// Pulls every frame until EOS; false on a pipeline error (printed).
bool print_frames(GstElement *pipeline) {
  GstAppSink *sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(pipeline), "sink"));
  GstBus *bus = gst_element_get_bus(pipeline);
  bool ok = true;
  for (guint64 frame = 0;;) {
    if (GstSample *sample = gst_app_sink_try_pull_sample(sink, GST_SECOND / 10)) {
      GstBuffer *buffer = gst_sample_get_buffer(sample);
      const GstClockTime pts = GST_BUFFER_PTS(buffer);
      std::printf("{\"frame\":%llu,\"pts\":%s,\"rain\":%s,\"regions\":%s,\"segmentation\":%s}\n",
                  static_cast<unsigned long long>(frame++),
                  GST_CLOCK_TIME_IS_VALID(pts) ? std::to_string(pts).c_str() : "null",
                  rain_json(buffer).c_str(), regions_json(buffer).c_str(),
                  segmentation_json(buffer).c_str());
      std::fflush(stdout);
      gst_sample_unref(sample);
      continue;
    }
    if (gst_app_sink_is_eos(sink)) break;
    // No frame for a while: an error ends the stream without EOS.
    if (GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
      GError *err = nullptr;
      gchar *debug = nullptr;
      gst_message_parse_error(msg, &err, &debug);
      std::fprintf(stderr, "detect_json: %s (%s)\n", err->message, debug ? debug : "");
      g_clear_error(&err);
      g_free(debug);
      gst_message_unref(msg);
      ok = false;
      break;
    }
  }
  gst_object_unref(bus);
  gst_object_unref(sink);
  return ok;
}

}  // namespace

int main(int argc, char **argv) {
  Options o;
  const GOptionEntry entries[] = {
      {"input", 'i', 0, G_OPTION_ARG_FILENAME, &o.input, "Video file (default: videotestsrc)",
       "FILE"},
      {"detector", 'd', 0, G_OPTION_ARG_FILENAME, &o.detector, "TorchScript detector", "FILE"},
      {"segmenter", 's', 0, G_OPTION_ARG_FILENAME, &o.segmenter,
       "TorchScript segmenter (default: none)", "FILE"},
      {"frames", 'n', 0, G_OPTION_ARG_INT, &o.frames, "Frames to process (default 10)", "N"},
      {"width", 0, 0, G_OPTION_ARG_INT, &o.width, "Frame width (default 320)", "W"},
      {"height", 0, 0, G_OPTION_ARG_INT, &o.height, "Frame height (default 240)", "H"},
      {"derain-options", 0, 0, G_OPTION_ARG_STRING, &o.derain_options,
       "More sapnetderain properties, e.g. \"stages=2 rain-meta=true\"", "P"},
      {"detector-options", 0, 0, G_OPTION_ARG_STRING, &o.detector_options,
       "More sapnetdetect properties, e.g. \"output-format=yolo\"", "P"},
      {"segmenter-options", 0, 0, G_OPTION_ARG_STRING, &o.segmenter_options,
       "More sapnetsegment properties", "P"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext *context = g_option_context_new("- derain, detect and segment a video as JSON");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_option_context_add_group(context, gst_init_get_option_group());
  GError *err = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &err) || !o.detector) {
    std::fprintf(stderr, "detect_json: %s (see --help)\n", err ? err->message : "--detector FILE");
    return 2;
  }
  g_option_context_free(context);

  GstElement *pipeline = gst_parse_launch(pipeline_description(o).c_str(), &err);
  if (!pipeline) {
    std::fprintf(stderr, "detect_json: %s (is the sapnet plugin installed?)\n", err->message);
    return 1;
  }
  // File names are set as properties, so that any path works without quoting.
  auto set_location = [&](const char *element, const char *property, const gchar *value) {
    if (!value) return;
    GstElement *e = gst_bin_get_by_name(GST_BIN(pipeline), element);
    g_object_set(e, property, value, nullptr);
    gst_object_unref(e);
  };
  set_location("src", "location", o.input);
  set_location("detect", "model-location", o.detector);
  set_location("segment", "model-location", o.segmenter);

  // A failed start (a missing model, ...) posts its error on the bus, which print_frames reports.
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  const bool ok = print_frames(pipeline);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return ok ? 0 : 1;
}
