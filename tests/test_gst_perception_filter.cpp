// GstSapnetPerceptionFilter, the base of sapnetdetect and sapnetsegment: both elements have the
// same shared properties (one set of param specs, owned by the base), their own properties still
// reach them, and a C++ exception anywhere below a virtual method becomes an element error.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "gst_run.h"
#include "perception_fixtures.h"
#include "shared_data.h"

namespace sapnet {
namespace {

using testing::run_error;
using testing::TempDir;

class PerceptionFilter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
};

const char *const kElements[] = {"sapnetdetect", "sapnetsegment"};
const char *const kShared[] = {"model-location", "device", "input-width", "input-height",
                               "mean",           "std",    "overlay"};

GParamSpec *spec_of(GstElement *e, const char *name) {
  return g_object_class_find_property(G_OBJECT_GET_CLASS(e), name);
}

TEST_F(PerceptionFilter, BothElementsShareOneSetOfProperties) {
  GstElement *detect = gst_element_factory_make("sapnetdetect", nullptr);
  GstElement *segment = gst_element_factory_make("sapnetsegment", nullptr);
  ASSERT_NE(detect, nullptr);
  ASSERT_NE(segment, nullptr);
  const GType base = g_type_from_name("GstSapnetPerceptionFilter");
  ASSERT_NE(base, G_TYPE_INVALID);
  EXPECT_TRUE(G_TYPE_IS_ABSTRACT(base));
  EXPECT_EQ(g_type_parent(G_OBJECT_TYPE(detect)), base);
  EXPECT_EQ(g_type_parent(G_OBJECT_TYPE(segment)), base);
  for (const char *name : kShared) {
    GParamSpec *d = spec_of(detect, name), *s = spec_of(segment, name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_EQ(d, s) << name << ": one param spec, so the same range, default and blurb";
    EXPECT_EQ(d->owner_type, base) << name;
  }
  const auto *width = G_PARAM_SPEC_INT(spec_of(detect, "input-width"));
  EXPECT_EQ(width->minimum, 0);
  EXPECT_EQ(width->maximum, 16384);
  EXPECT_EQ(width->default_value, 0);
  // Each keeps its own properties.
  EXPECT_NE(spec_of(detect, "labels-file"), nullptr);
  EXPECT_EQ(spec_of(segment, "labels-file"), nullptr);
  EXPECT_NE(spec_of(segment, "overlay-alpha"), nullptr);
  EXPECT_EQ(spec_of(detect, "overlay-alpha"), nullptr);
  gst_object_unref(detect);
  gst_object_unref(segment);
}

TEST_F(PerceptionFilter, SharedAndOwnPropertiesRoundTrip) {
  for (const char *element : kElements) {
    GstElement *e = gst_element_factory_make(element, nullptr);
    ASSERT_NE(e, nullptr) << element;
    gchar *device = nullptr, *mean = nullptr, *model = nullptr;
    g_object_get(e, "device", &device, "model-location", &model, nullptr);
    EXPECT_STREQ(device, "auto") << element;
    EXPECT_EQ(model, nullptr) << element;
    g_free(device);
    g_object_set(e, "mean", "0.1,0.2,0.3", "input-height", 480, "overlay", TRUE, "device", "cpu",
                 nullptr);
    gint height = 0;
    gboolean overlay = FALSE;
    g_object_get(e, "mean", &mean, "input-height", &height, "overlay", &overlay, "device", &device,
                 nullptr);
    EXPECT_STREQ(mean, "0.1,0.2,0.3") << element;
    EXPECT_EQ(height, 480) << element;
    EXPECT_TRUE(overlay) << element;
    EXPECT_STREQ(device, "cpu") << element;
    g_free(mean);
    g_free(device);
    // An empty device is the default again.
    g_object_set(e, "device", "", nullptr);
    g_object_get(e, "device", &device, nullptr);
    EXPECT_STREQ(device, "auto") << element;
    g_free(device);
    gst_object_unref(e);
  }
  // The subclasses' own properties pass through the base's set/get_property to them.
  GstElement *detect = gst_element_factory_make("sapnetdetect", nullptr);
  g_object_set(detect, "score-threshold", 0.25, "labels-file", "names.txt", nullptr);
  gdouble threshold = 0;
  gchar *labels = nullptr;
  g_object_get(detect, "score-threshold", &threshold, "labels-file", &labels, nullptr);
  EXPECT_DOUBLE_EQ(threshold, 0.25);
  EXPECT_STREQ(labels, "names.txt");
  g_free(labels);
  gst_object_unref(detect);
  GstElement *segment = gst_element_factory_make("sapnetsegment", nullptr);
  g_object_set(segment, "overlay-alpha", 0.75, nullptr);
  gdouble alpha = 0;
  g_object_get(segment, "overlay-alpha", &alpha, nullptr);
  EXPECT_DOUBLE_EQ(alpha, 0.75);
  gst_object_unref(segment);
}

// forward fails (a matrix product of a 1 x 3 x H x W tensor): LibTorch throws from inside
// transform_frame_ip. The base turns it into an element error naming the task and the model, and
// the pipeline stops instead of crashing.
constexpr const char *kRaisingModel = R"(
def forward(self, x):
    return torch.mm(x, x)
)";

TEST_F(PerceptionFilter, AnExceptionInTheModelIsAnElementError_n) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "raise.pt", kRaisingModel);
  for (const char *element : kElements) {
    const std::string msg =
        run_error("videotestsrc num-buffers=2 ! video/x-raw,width=32,height=24 ! " +
                  std::string(element) + " model-location=\"" + model + "\" ! fakesink");
    EXPECT_NE(msg.find("must be a matrix"), std::string::npos) << element << ": " << msg;
    const std::string task = element == std::string("sapnetdetect") ? "Detection" : "Segmentation";
    EXPECT_NE(msg.find(task + " failed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model " + model), std::string::npos) << msg;  // the debug detail
  }
}

// The checks of start() live in the base: both elements refuse the same bad settings.
TEST_F(PerceptionFilter, BothElementsRefuseBadSharedSettings_n) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "s.pt", testing::segmenter_source(false));
  for (const char *element : kElements) {
    const std::string head = "videotestsrc num-buffers=1 ! " + std::string(element) + " ";
    std::string msg = run_error(head + "mean=1,2 model-location=\"" + model + "\" ! fakesink");
    EXPECT_NE(msg.find("Invalid mean \"1,2\""), std::string::npos) << element << ": " << msg;
    msg = run_error(head + "device=tpu model-location=\"" + model + "\" ! fakesink");
    EXPECT_NE(msg.find("unknown device 'tpu'"), std::string::npos) << element << ": " << msg;
    EXPECT_NE(msg.find("Could not load the"), std::string::npos) << element << ": " << msg;
    msg = run_error(head + "std=0,1,1 model-location=\"" + model + "\" ! fakesink");
    EXPECT_NE(msg.find("std must be positive"), std::string::npos) << element << ": " << msg;
  }
}

// A harness around `launch` taking 32x24 RGB frames at 25 frames a second.
GstHarness *rgb_harness(const std::string &launch) {
  GstHarness *h = gst_harness_new_parse(launch.c_str());
  gst_harness_set_src_caps(h, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB",
                                                  "width", G_TYPE_INT, 32, "height", G_TYPE_INT, 24,
                                                  "framerate", GST_TYPE_FRACTION, 25, 1, nullptr));
  return h;
}

GstBuffer *grey_frame(int index, size_t bytes = 32 * 3 * 24) {
  GstBuffer *b = gst_buffer_new_allocate(nullptr, bytes, nullptr);
  gst_buffer_memset(b, 0, 90, bytes);
  GST_BUFFER_PTS(b) = index * (GST_SECOND / 25);
  GST_BUFFER_DURATION(b) = GST_SECOND / 25;
  return b;
}

// Frame N keeps number N when QoS dropped an earlier one: the class map of frame 2 is written as
// 00002.png (it was written as 00001.png, and detections went to the previous image id).
TEST_F(PerceptionFilter, AFrameDroppedByQosDoesNotShiftTheFrameNumbers_n) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "s.pt", testing::segmenter_source(false));
  GstHarness *h = rgb_harness("sapnetsegment model-location=\"" + model + "\" labels-location=\"" +
                              (dir / "%05d.png") + "\"");
  gst_buffer_unref(gst_harness_push_and_pull(h, grey_frame(0)));
  // Downstream: frame 0 came 60 ms late, so frames before 60 ms are dropped.
  gst_harness_push_upstream_event(
      h, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 1.5, 60 * GST_MSECOND, 0));
  EXPECT_EQ(gst_harness_push(h, grey_frame(1)), GST_FLOW_OK);
  gst_buffer_unref(gst_harness_push_and_pull(h, grey_frame(2)));
  EXPECT_EQ(gst_harness_buffers_received(h), 2u) << "frame 1 was not dropped: no QoS here?";
  gst_harness_teardown(h);
  EXPECT_TRUE(std::filesystem::exists(dir / "00000.png"));
  EXPECT_FALSE(std::filesystem::exists(dir / "00001.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "00002.png"));
}

// A buffer shorter than its caps' frame (RGB rows packed without GStreamer's 4-byte padding: 32x24
// needs no padding, so cut it) is an error, not a frame passed on unseen.
TEST_F(PerceptionFilter, ABufferTooShortForItsCapsIsAnError_n) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "s.pt", testing::segmenter_source(false));
  for (const char *element : kElements) {
    GstHarness *h = rgb_harness(std::string(element) + " model-location=\"" + model + "\"");
    EXPECT_EQ(gst_harness_push(h, grey_frame(0, 32 * 3 * 24 - 40)), GST_FLOW_ERROR) << element;
    EXPECT_EQ(gst_harness_buffers_received(h), 0u) << element;
    gst_harness_teardown(h);
  }
}

// Two detectors in a row: every box on the buffer has its own ROI id (both numbered theirs from 0,
// so the first detector's boxes could not be found by id).
TEST_F(PerceptionFilter, ChainedDetectorsGiveEveryBoxItsOwnId) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "d.pt", testing::kTupleDetector);
  const std::string one = "sapnetdetect score-threshold=0 model-location=\"" + model + "\"";
  GstHarness *h = rgb_harness(one + " ! " + one);
  GstBuffer *out = gst_harness_push_and_pull(h, grey_frame(0));
  std::vector<gint> ids;
  gpointer iter = nullptr;
  while (GstMeta *m = gst_buffer_iterate_meta_filtered(out, &iter,
                                                       GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
    ids.push_back(reinterpret_cast<GstVideoRegionOfInterestMeta *>(m)->id);
  ASSERT_EQ(ids.size(), 4u);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<gint>{0, 1, 2, 3}));
  for (gint id = 0; id < 4; ++id)
    EXPECT_NE(gst_buffer_get_video_region_of_interest_meta_id(out, id), nullptr) << id;
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

}  // namespace
}  // namespace sapnet
