// GstSapnetPerceptionFilter, the base of sapnetdetect and sapnetsegment: both elements have the
// same shared properties (one set of param specs, owned by the base), their own properties still
// reach them, and a C++ exception anywhere below a virtual method becomes an element error.
#include <gst/gst.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sapnet
