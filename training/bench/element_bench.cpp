// The element timed in process: parsed with gst_parse_launch, its latency read from its own
// properties after each frame, frames counted at the sink.
#include <gst/gst.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "bench/bench.h"
#include "error.h"

#ifndef SAPNET_PLUGIN_BUILD_DIR
#define SAPNET_PLUGIN_BUILD_DIR ""
#endif

namespace sapnet {
namespace {

using Clock = std::chrono::steady_clock;

struct ObjectUnref {
  void operator()(gpointer p) const { gst_object_unref(p); }
};
struct MessageUnref {
  void operator()(GstMessage *m) const { gst_message_unref(m); }
};
using ElementPtr = std::unique_ptr<GstElement, ObjectUnref>;
using MessagePtr = std::unique_ptr<GstMessage, MessageUnref>;

// Stops the pipeline however the run ends, so that the element releases its Engine.
struct StopOnExit {
  GstElement *pipeline;
  ~StopOnExit() { gst_element_set_state(pipeline, GST_STATE_NULL); }
};

// What the sink's handoff sees: frames counted, the element's latency of each timed frame.
struct Tally {
  GstElement *derain = nullptr;
  int warmup = 0;
  int seen = 0;
  double latency_ms = 0;  // sum over the timed frames
  Clock::time_point first, last;
};

void on_handoff(GstElement *, GstBuffer *, GstPad *, gpointer data) {
  auto *t = static_cast<Tally *>(data);
  const auto now = Clock::now();
  ++t->seen;
  if (t->seen == t->warmup) t->first = now;  // the timed frames start after this one
  if (t->seen <= t->warmup) return;
  double ms = 0;
  g_object_get(t->derain, "last-latency-ms", &ms, nullptr);
  t->latency_ms += ms;
  t->last = now;
}

// GStreamer once per process; the element from this build unless GST_PLUGIN_PATH says otherwise.
bool element_found() {
  static const bool found = [] {
    GError *error = nullptr;
    if (!gst_init_check(nullptr, nullptr, &error)) {
      g_clear_error(&error);
      return false;
    }
    const std::string dir = SAPNET_PLUGIN_BUILD_DIR;
    if (!std::getenv("GST_PLUGIN_PATH") && !std::getenv("GST_PLUGIN_PATH_1_0") && !dir.empty() &&
        std::filesystem::is_directory(dir))
      gst_registry_scan_path(gst_registry_get(), dir.c_str());
    GstElementFactory *factory = gst_element_factory_find("sapnetderain");
    if (factory) gst_object_unref(factory);
    return factory != nullptr;
  }();
  return found;
}

std::string error_text(GstMessage *message) {
  GError *error = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  std::string text = error ? error->message : "unknown error";
  if (debug) text += std::string(" (") + debug + ")";
  g_clear_error(&error);
  g_free(debug);
  return text;
}

}  // namespace

bool element_bench_built() {
  return true;
}

bool element_has_cuda_memory() {
  if (!element_found()) return false;
  GstElementFactory *factory = gst_element_factory_find("sapnetderain");
  if (!factory) return false;
  bool cuda = false;
  for (const GList *l = gst_element_factory_get_static_pad_templates(factory); l; l = l->next) {
    GstCaps *caps = gst_static_caps_get(&static_cast<GstStaticPadTemplate *>(l->data)->static_caps);
    for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
      GstCapsFeatures *f = gst_caps_get_features(caps, i);
      if (f && gst_caps_features_contains(f, "memory:CUDAMemory")) cuda = true;
    }
    gst_caps_unref(caps);
  }
  gst_object_unref(factory);
  return cuda;
}

// Why the CUDA-memory row cannot run here ("" when it can).
static std::string cuda_memory_problem(const BenchCase &c) {
  if (c.options.device == "cpu") return "CUDA memory needs a CUDA device (no GPU here)";
  for (const char *name : {"cudaupload", "cudadownload"}) {
    GstElementFactory *f = gst_element_factory_find(name);
    if (!f)
      return std::string("no GPU here: ") + name +
             " is not registered (gstreamer1.0-plugins-bad's nvcodec, which needs a CUDA driver "
             "and a GPU)";
    gst_object_unref(f);
  }
  return "";
}

BenchRow bench_element(const BenchCase &c) {
  BenchRow row;
  row.what = c.cuda_memory          ? "element+cudamem"
             : c.max_latency_ms > 0 ? "element+budget"
                                    : "element";
  row.budget_ms = c.max_latency_ms;
  row.size = std::to_string(c.width) + "x" + std::to_string(c.height);
  row.precision = precision_name(c.options.precision);
  if (!element_found()) {
    row.note = "the sapnetderain element was not found (set GST_PLUGIN_PATH)";
    return row;
  }
  if (c.cuda_memory) {
    row.note = cuda_memory_problem(c);
    if (!row.note.empty()) return row;
  }
  // At least one warm-up frame: the timed span starts when it leaves the element.
  const int warmup = std::max(1, c.warmup);
  const std::string size = ",width=" + std::to_string(c.width) +
                           ",height=" + std::to_string(c.height) + ",framerate=30/1 ! ";
  const std::string launch =
      "videotestsrc num-buffers=" + std::to_string(warmup + c.frames) +
      (c.cuda_memory ? " ! video/x-raw,format=RGBA" + size +
                           "cudaupload ! video/x-raw(memory:CUDAMemory) ! sapnetderain name=derain "
                           "! video/x-raw(memory:CUDAMemory) ! cudadownload ! "
                     : " ! video/x-raw,format=RGB" + size + "sapnetderain name=derain ! ") +
      "fakesink name=sink sync=false signal-handoffs=true";
  GError *error = nullptr;
  ElementPtr pipeline(gst_parse_launch(launch.c_str(), &error));
  if (!pipeline || error) {
    const std::string why = error ? error->message : "unknown error";
    g_clear_error(&error);
    throw Error("cannot build the element pipeline (" + why + "): " + launch);
  }
  ElementPtr derain(gst_bin_get_by_name(GST_BIN(pipeline.get()), "derain"));
  ElementPtr sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  // Set as properties, not in the launch text: paths and device names need no quoting.
  GObject *element = G_OBJECT(derain.get());
  gst_util_set_object_arg(element, "device", c.options.device.c_str());
  gst_util_set_object_arg(element, "precision", precision_name(c.options.precision));
  g_object_set(element, "stages", c.options.stages, "max-latency-ms", c.max_latency_ms, nullptr);
  if (!c.options.model_path.empty())
    g_object_set(element, "model-location", c.options.model_path.c_str(), nullptr);
  Tally tally;
  tally.derain = derain.get();
  tally.warmup = warmup;
  g_signal_connect(sink.get(), "handoff", G_CALLBACK(on_handoff), &tally);

  const StopOnExit stop{pipeline.get()};
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  std::unique_ptr<GstBus, ObjectUnref> bus(gst_element_get_bus(pipeline.get()));
  MessagePtr message(gst_bus_timed_pop_filtered(
      bus.get(), GST_CLOCK_TIME_NONE, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  if (message && GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_ERROR)
    throw Error("the element pipeline failed: " + error_text(message.get()));

  guint64 processed = 0;
  g_object_get(element, "frames-processed", &processed, "average-latency-ms",
               &row.average_latency_ms, nullptr);
  row.frames_processed = static_cast<long long>(processed);
  if (c.max_latency_ms > 0) {
    GstStructure *stats = nullptr;
    g_object_get(element, "stats", &stats, nullptr);
    if (stats) {
      gst_structure_get_double(stats, "average-stages", &row.average_stages);
      gst_structure_get_int(stats, "current-stages", &row.final_stages);
      gst_structure_free(stats);
    }
  }
  row.frames_timed = tally.seen - warmup;
  if (row.frames_timed <= 0) throw Error("the element pipeline ended before any timed frame");
  row.ms_per_frame = tally.latency_ms / row.frames_timed;
  const double span_s = std::chrono::duration<double>(tally.last - tally.first).count();
  row.fps = span_s > 0 ? row.frames_timed / span_s : 0.0;
  return row;
}

}  // namespace sapnet
