// sapnetdetect and sapnetsegment through GstHarness with tiny TorchScript modules
// (perception_fixtures.h): region-of-interest metas and their parameters, labels files, overlays,
// the segmentation meta, COCO results and label PNGs written by the elements, errors for missing
// models and wrong output shapes, files that cannot be written (failing the start, never hanging
// the shutdown), and pipelines/table5.sh end to end. Also the elements' helpers in gst/perception/
// (property texts, file-name patterns, PNG writing). The shared base: test_gst_perception_filter.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>
#include <utility>

#include "data/image.h"
#include "error.h"
#include "gst_run.h"
#include "metrics/detection_metrics.h"
#include "metrics/segmentation_metrics.h"
#include "output_files.h"
#include "perception/overlay.h"
#include "perception_fixtures.h"
#include "property_parsing.h"
#include "sapnet_segmentation_meta.h"
#include "shared_data.h"

namespace sapnet {
namespace {

using testing::run_error;
using testing::TempDir;

class GstPerception : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }

  static GstHarness *harness(const std::string &desc, const char *format, int w, int h) {
    GstHarness *hr = gst_harness_new_parse(desc.c_str());
    EXPECT_NE(hr, nullptr);
    gst_harness_set_src_caps(
        hr, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, format, "width", G_TYPE_INT,
                                w, "height", G_TYPE_INT, h, "framerate", GST_TYPE_FRACTION, 25, 1,
                                nullptr));
    return hr;
  }

  // A frame of `info` with every byte `value`.
  static GstBuffer *filled(const GstVideoInfo &info, uint8_t value) {
    GstBuffer *b = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
    gst_buffer_memset(b, 0, value, GST_VIDEO_INFO_SIZE(&info));
    return b;
  }

  static GstVideoInfo info_of(const char *format, int w, int h) {
    GstVideoInfo info;
    gst_video_info_set_format(&info, gst_video_format_from_string(format), w, h);
    return info;
  }

  static std::vector<uint8_t> bytes_of(GstBuffer *buf) {
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_READ);
    std::vector<uint8_t> out(map.data, map.data + map.size);
    gst_buffer_unmap(buf, &map);
    return out;
  }
};

struct Roi {
  std::string type, label;
  int x, y, w, h, class_id;
  double confidence;
};

std::vector<Roi> rois_of(GstBuffer *buf) {
  std::vector<Roi> out;
  gpointer state = nullptr;
  while (GstMeta *m = gst_buffer_iterate_meta_filtered(
             buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(m);
    Roi r{g_quark_to_string(roi->roi_type),
          "",
          int(roi->x),
          int(roi->y),
          int(roi->w),
          int(roi->h),
          -1,
          -1};
    if (GstStructure *p = gst_video_region_of_interest_meta_get_param(roi, "detection")) {
      if (const char *l = gst_structure_get_string(p, "label")) r.label = l;
      gst_structure_get_int(p, "class-id", &r.class_id);
      gst_structure_get_double(p, "confidence", &r.confidence);
    }
    out.push_back(r);
  }
  return out;
}

TEST_F(GstPerception, DetectAttachesRoiMetasWithLabelsAndConfidence) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "d.pt", testing::kTupleDetector);
  std::ofstream(dir / "labels.txt") << "background\nperson\ncar\n";
  GstHarness *h = harness("sapnetdetect model-location=\"" + model + "\" labels-file=\"" +
                              (dir / "labels.txt") + "\" input-width=64 input-height=32",
                          "RGB", 128, 96);
  const GstVideoInfo info = info_of("RGB", 128, 96);
  GstBuffer *out = gst_harness_push_and_pull(h, filled(info, 230));  // bright: both boxes
  ASSERT_NE(out, nullptr);
  const auto rois = rois_of(out);
  ASSERT_EQ(rois.size(), 2u);
  EXPECT_EQ(rois[0].type, "person");  // class 1, 230/255 = 0.90
  EXPECT_EQ(rois[0].label, "person");
  EXPECT_EQ(rois[0].class_id, 1);
  EXPECT_NEAR(rois[0].confidence, 230 / 255.0, 1e-5);
  EXPECT_EQ(rois[0].x, 0);
  EXPECT_EQ(rois[0].w, 16);
  EXPECT_EQ(rois[0].h, 24);
  EXPECT_EQ(rois[1].type, "car");  // the middle half of the frame
  EXPECT_EQ(rois[1].x, 32);
  EXPECT_EQ(rois[1].y, 24);
  EXPECT_EQ(rois[1].w, 64);
  EXPECT_EQ(rois[1].h, 48);
  EXPECT_NEAR(rois[1].confidence, 0.8, 1e-6);
  // Without overlay the pixels are untouched.
  for (uint8_t b : bytes_of(out)) ASSERT_EQ(b, 230);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

TEST_F(GstPerception, DetectThresholdAndUnnamedClasses) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "y.pt", testing::kYoloDetector);
  GstHarness *h = harness(
      "sapnetdetect output-format=yolo score-threshold=0.6 model-location=\"" + model + "\"",
      "BGRx", 100, 100);
  GstBuffer *out = gst_harness_push_and_pull(h, filled(info_of("BGRx", 100, 100), 0));
  ASSERT_NE(out, nullptr);
  const auto rois = rois_of(out);
  ASSERT_EQ(rois.size(), 2u);  // A and C (see the fixture)
  EXPECT_EQ(rois[0].type, "class-0");
  EXPECT_EQ(rois[1].type, "class-1");
  EXPECT_EQ(rois[1].x, 22);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

// Overlay: pixels change on the box outlines (and tab) only.
TEST_F(GstPerception, DetectOverlayChangesOnlyBoxPixels) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "y.pt", testing::kYoloDetector);
  for (const char *format : {"RGB", "NV12"}) {
    GstHarness *h = harness(
        "sapnetdetect output-format=yolo score-threshold=0.6 overlay=true "
        "nms-threshold=0.5 model-location=\"" +
            model + "\"",
        format, 100, 100);
    const GstVideoInfo info = info_of(format, 100, 100);
    GstBuffer *out = gst_harness_push_and_pull(h, filled(info, 128));
    ASSERT_NE(out, nullptr);
    const auto bytes = bytes_of(out);
    // Union of the two boxes (20,20)-(40,40) and (22,21)-(42,41).
    const auto in_box = [](int x, int y) {
      return (x >= 20 && x < 40 && y >= 20 && y < 40) || (x >= 22 && x < 42 && y >= 21 && y < 41);
    };
    const int bpp = std::string(format) == "RGB" ? 3 : 1;  // NV12: luma plane only
    int changed = 0;
    for (int y = 0; y < 100; ++y)
      for (int x = 0; x < 100; ++x)
        for (int c = 0; c < bpp; ++c) {
          const size_t i = GST_VIDEO_INFO_PLANE_OFFSET(&info, 0) +
                           size_t(y) * GST_VIDEO_INFO_PLANE_STRIDE(&info, 0) + x * bpp + c;
          if (bytes[i] != 128) {
            ++changed;
            ASSERT_TRUE(in_box(x, y)) << format << " changed at " << x << "," << y;
          }
        }
    EXPECT_GT(changed, 100) << format;
    if (bpp == 1) {  // chroma untouched
      for (size_t i = GST_VIDEO_INFO_PLANE_OFFSET(&info, 1); i < bytes.size(); ++i)
        ASSERT_EQ(bytes[i], 128);
    }
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}

TEST_F(GstPerception, DetectWritesCocoResults) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "d.pt", testing::kListDictDetector);
  const std::string results = dir / "dt.json";
  GstHarness *h = harness("sapnetdetect image-id=7 model-location=\"" + model +
                              "\" detections-file=\"" + results + "\"",
                          "I420", 40, 30);
  const GstVideoInfo info = info_of("I420", 40, 30);
  for (uint8_t v : {20, 240}) gst_buffer_unref(gst_harness_push_and_pull(h, filled(info, v)));
  gst_harness_teardown(h);
  std::ifstream in(results);
  ASSERT_TRUE(in) << results;
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["image_id"], 7);
  EXPECT_EQ(j[0]["category_id"], 5);
  EXPECT_EQ(j[1]["image_id"], 8);
  EXPECT_EQ(j[1]["category_id"], 6);
  EXPECT_NEAR(j[1]["score"].get<double>(), 0.9, 1e-6);
  const std::vector<double> bbox = j[0]["bbox"];
  EXPECT_EQ(bbox, (std::vector<double>{1, 2, 10, 20}));
}

// category-map turns class indices into COCO category ids (a COCO file: its categories in id
// order, whose names then label the classes; or one id per line), image-ids gives each frame its
// image id, and a frame beyond the list is an element error.
TEST_F(GstPerception, DetectMapsCategoriesAndImageIds) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "d.pt", testing::kListDictDetector);
  // Classes 0..6 in id order: 1 2 3 5 7 8 9; class 5 (dark) -> 8 "eight", class 6 -> 9 "nine".
  nlohmann::json coco = {{"categories",
                          {{{"id", 9}, {"name", "nine"}},
                           {{"id", 3}, {"name", "three"}},
                           {{"id", 7}, {"name", "seven"}},
                           {{"id", 1}, {"name", "one"}},
                           {{"id", 5}, {"name", "five"}},
                           {{"id", 2}, {"name", "two"}},
                           {{"id", 8}, {"name", "eight"}}}}};
  std::ofstream(dir / "coco.json") << coco.dump();
  std::ofstream(dir / "ids.txt") << "10\n11\n12\n13\n14\n15\n16\n";
  const GstVideoInfo info = info_of("RGB", 40, 30);
  for (const char *map : {"coco.json", "ids.txt"}) {
    const bool is_coco = std::string(map) == "coco.json";
    const std::string results = dir / "dt.json";
    GstHarness *h =
        harness("sapnetdetect model-location=\"" + model + "\" category-map=\"" + (dir / map) +
                    "\" image-ids=\"42, 17\" detections-file=\"" + results + "\"",
                "RGB", 40, 30);
    GstBuffer *out = gst_harness_push_and_pull(h, filled(info, 20));
    ASSERT_NE(out, nullptr);
    const auto rois = rois_of(out);
    ASSERT_EQ(rois.size(), 1u);
    EXPECT_EQ(rois[0].class_id, 5);  // the meta keeps the model's class
    EXPECT_EQ(rois[0].label, is_coco ? "eight" : "class-5");
    gst_buffer_unref(out);
    gst_buffer_unref(gst_harness_push_and_pull(h, filled(info, 240)));
    gst_harness_teardown(h);
    std::ifstream in(results);
    ASSERT_TRUE(in) << results;
    const auto j = nlohmann::json::parse(in);
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["image_id"], 42);
    EXPECT_EQ(j[0]["category_id"], is_coco ? 8 : 15);
    EXPECT_EQ(j[1]["image_id"], 17);
    EXPECT_EQ(j[1]["category_id"], is_coco ? 9 : 16);
  }
  // Three frames, two ids.
  std::string msg = run_error(
      "videotestsrc num-buffers=3 ! video/x-raw,width=40,height=30 ! "
      "sapnetdetect model-location=\"" +
      model + "\" image-ids=\"42,17\" ! fakesink");
  EXPECT_NE(msg.find("Frame 2 has no image id"), std::string::npos) << msg;
  // Class 6 beyond a map of 3 categories.
  std::ofstream(dir / "short.txt") << "1\n2\n3\n";
  msg = run_error(
      "videotestsrc num-buffers=1 ! video/x-raw,width=40,height=30 ! "
      "sapnetdetect model-location=\"" +
      model + "\" category-map=\"" + (dir / "short.txt") + "\" detections-file=\"" +
      (dir / "x.json") + "\" ! fakesink");
  EXPECT_NE(msg.find("class 6"), std::string::npos) << msg;
  msg = run_error("videotestsrc num-buffers=1 ! sapnetdetect model-location=\"" + model +
                  "\" image-ids=\"1,x\" ! fakesink");
  EXPECT_NE(msg.find("image-ids"), std::string::npos) << msg;
}

TEST(PerceptionProperties, IdLists) {
  EXPECT_EQ(gst::parse_id_list("139,285 632, -4"), (std::vector<int64_t>{139, 285, 632, -4}));
  EXPECT_TRUE(gst::parse_id_list(" ").empty());
  for (const char *bad : {"1,2x", "a", "1;2", "99999999999999999999"})
    EXPECT_THROW(gst::parse_id_list(bad), Error) << bad;
}

TEST_F(GstPerception, SegmentMetaHoldsTheArgmaxMapAndOverlayBlends) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "s.pt", testing::segmenter_source(true));
  const int w = 12, hgt = 9;
  GstHarness *h = harness("sapnetsegment overlay=true overlay-alpha=0.25 model-location=\"" +
                              model + "\" labels-location=\"" + (dir / "map-%03d.png") + "\"",
                          "RGB", w, hgt);
  const GstVideoInfo info = info_of("RGB", w, hgt);
  GstBuffer *out = gst_harness_push_and_pull(h, filled(info, 100));
  ASSERT_NE(out, nullptr);
  const SapnetSegmentationMeta *m = gst_buffer_get_sapnet_segmentation_meta(out);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->width, guint(w));
  ASSERT_EQ(m->height, guint(hgt));
  EXPECT_EQ(m->num_classes, 3u);
  const auto bytes = bytes_of(out);
  for (int y = 0; y < hgt; ++y)
    for (int x = 0; x < w; ++x) {
      const int c = testing::segmenter_class(x, y, w, hgt);
      ASSERT_EQ(m->class_map[y * w + x], c) << x << "," << y;
      const Rgb colour = class_colour(c);
      for (int ch = 0; ch < 3; ++ch)
        ASSERT_NEAR(bytes[y * GST_VIDEO_INFO_PLANE_STRIDE(&info, 0) + x * 3 + ch],
                    0.75 * 100 + 0.25 * colour[ch], 1.0);
    }
  // A copy of the buffer carries a copy of the map.
  GstBuffer *copy = gst_buffer_copy(out);
  const SapnetSegmentationMeta *mc = gst_buffer_get_sapnet_segmentation_meta(copy);
  ASSERT_NE(mc, nullptr);
  EXPECT_NE(mc->class_map, m->class_map);
  EXPECT_EQ(std::memcmp(mc->class_map, m->class_map, w * hgt), 0);
  gst_buffer_unref(copy);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
  // The label PNG holds the same ids.
  if (image_io_available()) {
    const LabelMap png = read_label_map(dir / "map-000.png");
    ASSERT_EQ(png.width, w);
    ASSERT_EQ(png.height, hgt);
    for (int i = 0; i < w * hgt; ++i)
      ASSERT_EQ(png.ids[i], testing::segmenter_class(i % w, i / w, w, hgt));
  }
}

// Scaling the frame after sapnetsegment resamples its class map to the new size (nearest), so
// that the map still lines up with the frame; a same-size conversion keeps it as it is.
TEST_F(GstPerception, SegmentMetaFollowsTheFrameThroughVideoscale) {
  for (const char *f : {"videoscale", "videoconvert"})
    if (GstElementFactory *factory = gst_element_factory_find(f))
      gst_object_unref(factory);
    else
      GTEST_SKIP() << "no GStreamer element " << f << " (gstreamer1.0-plugins-base)";
  TempDir dir;
  const std::string model = testing::save_module(dir / "s.pt", testing::segmenter_source(true));
  const int w = 12, hgt = 9;
  GstHarness *h =
      harness("sapnetsegment model-location=\"" + model +
                  "\" ! videoconvert ! videoscale ! capsfilter caps=video/x-raw,width=24,height=18",
              "RGB", w, hgt);
  GstBuffer *out = gst_harness_push_and_pull(h, filled(info_of("RGB", w, hgt), 100));
  ASSERT_NE(out, nullptr);
  const SapnetSegmentationMeta *m = gst_buffer_get_sapnet_segmentation_meta(out);
  ASSERT_NE(m, nullptr) << "the meta was dropped";
  ASSERT_EQ(m->width, 24u);
  ASSERT_EQ(m->height, 18u);
  for (int y = 0; y < 18; ++y)
    for (int x = 0; x < 24; ++x)
      ASSERT_EQ(m->class_map[y * 24 + x], testing::segmenter_class(x / 2, y / 2, w, hgt))
          << x << "," << y;
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

TEST(PerceptionProperties, Triplets) {
  std::array<float, 3> v{};
  EXPECT_TRUE(gst::parse_rgb_triplet("0.485,0.456, 0.406", &v));
  EXPECT_FLOAT_EQ(v[2], 0.406f);
  EXPECT_TRUE(gst::parse_rgb_triplet("1 2 3", &v));
  EXPECT_FALSE(gst::parse_rgb_triplet("1,2", &v));
  EXPECT_FALSE(gst::parse_rgb_triplet("1,2,3,4", &v));
  EXPECT_FALSE(gst::parse_rgb_triplet("a,b,c", &v));
}

// File-name patterns go to GLib's printf: one integer conversion, "%%" for '%', nothing else.
TEST(PerceptionFiles, LocationPatterns) {
  EXPECT_EQ(gst::format_location("p/%05d.png", 42), "p/00042.png");
  EXPECT_EQ(gst::format_location("p/%u-%%.png", 3), "p/3-%.png");
  EXPECT_EQ(gst::format_location("p/x.png", 42), "p/x.png");
  EXPECT_EQ(gst::format_location("100%%", 3), "100%");
  for (const char *ok : {"%d", "a%i", "%010d.png", "%%%d%%"})
    EXPECT_EQ(gst::location_pattern_error(ok), "") << ok;
  // A second conversion, or anything else printf would read an argument for, is refused.
  for (const char *bad : {"%d-%d", "%s.png", "%05ld", "100%", "%x", "%n", "%123d", "%*d"}) {
    EXPECT_NE(gst::location_pattern_error(bad), "") << bad;
    EXPECT_THROW(gst::format_location(bad, 1), Error) << bad;
  }
}

TEST(PerceptionFiles, GrayPngReadsBack) {
  if (!image_io_available()) GTEST_SKIP() << "no OpenCV to read the PNG back";
  TempDir dir;
  std::vector<uint8_t> ids(31 * 5);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = uint8_t(i * 7);
  gst::write_gray_png(dir / "m.png", ids.data(), 31, 5);
  const LabelMap m = read_label_map(dir / "m.png");
  EXPECT_EQ(m.width, 31);
  EXPECT_EQ(m.height, 5);
  EXPECT_EQ(m.ids, ids);
}

TEST_F(GstPerception, MissingOrInvalidModelFailsTheStart_n) {
  TempDir dir;
  std::ofstream(dir / "junk.pt") << "not a model";
  for (const char *element : {"sapnetdetect", "sapnetsegment"})
    for (const std::string &path : {dir / "missing.pt", dir / "junk.pt"}) {
      const auto msg = run_error("videotestsrc num-buffers=1 ! " + std::string(element) +
                                 " model-location=\"" + path + "\" ! fakesink");
      EXPECT_NE(msg.find(path), std::string::npos) << element << ": " << msg;
      EXPECT_NE(msg.find("Could not load"), std::string::npos) << msg;
    }
  const auto bad_mean = run_error(
      "videotestsrc num-buffers=1 ! sapnetsegment mean=1,2 "
      "model-location=\"" +
      testing::save_module(dir / "s.pt", testing::segmenter_source(0)) + "\" ! fakesink");
  EXPECT_NE(bad_mean.find("mean"), std::string::npos) << bad_mean;
}

// The hang: an unwritable detections-file used to pass the start, fail in stop() (pads not
// deactivated, "very bad") and leave gst-launch-1.0 waiting forever for the source's thread. It
// now fails the start with the path and the reason, and gst-launch exits.
TEST_F(GstPerception, UnwritableDetectionsFileFailsTheStartAndNothingHangs_n) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "y.pt", testing::kYoloDetector);
  const std::string launch = "videotestsrc num-buffers=3 ! sapnetdetect model-location=\"" + model +
                             "\" output-format=yolo detections-file=/nonexistent/d.json ! fakesink";
  const auto msg = run_error(launch);
  EXPECT_NE(msg.find("/nonexistent/d.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  if (std::system("command -v gst-launch-1.0 >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "gst-launch-1.0 is missing";
  FILE *p = popen(("timeout 60 gst-launch-1.0 " + launch + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  const int status = pclose(p);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_NE(WEXITSTATUS(status), 124) << "gst-launch-1.0 hung:\n" << output;
  EXPECT_NE(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(output.find("/nonexistent/d.json"), std::string::npos) << output;
  EXPECT_EQ(output.find("very bad"), std::string::npos) << output;
}

// A detections file that becomes unwritable while playing: the write at EOS is an element error
// naming the file, and stopping the pipeline still succeeds.
TEST_F(GstPerception, DetectionsWriteFailureIsAnErrorAndStopSucceeds_n) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "y.pt", testing::kYoloDetector);
  std::filesystem::create_directories(dir / "out");
  const std::string results = dir / "out/d.json";
  GstElement *pipe = gst_parse_launch(
      ("videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48 ! sapnetdetect "
       "output-format=yolo model-location=\"" +
       model + "\" detections-file=\"" + results + "\" ! fakesink")
          .c_str(),
      nullptr);
  ASSERT_NE(pipe, nullptr);
  ASSERT_NE(gst_element_set_state(pipe, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(gst_element_get_state(pipe, nullptr, nullptr, 30 * GST_SECOND),
            GST_STATE_CHANGE_SUCCESS);
  std::filesystem::remove_all(dir / "out");
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipe);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(GST_MESSAGE_TYPE(m), GST_MESSAGE_ERROR);
  GError *e = nullptr;
  gst_message_parse_error(m, &e, nullptr);
  const std::string msg = e->message;
  g_error_free(e);
  gst_message_unref(m);
  EXPECT_NE(msg.find(results), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  EXPECT_EQ(gst_element_set_state(pipe, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_object_unref(bus);
  gst_object_unref(pipe);
}

// Zero detections still make a (empty) results list.
TEST_F(GstPerception, DetectWritesAnEmptyListWithoutDetections) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "y.pt", testing::kYoloDetector);
  const std::string results = dir / "d.json";
  EXPECT_EQ(run_error("videotestsrc num-buffers=2 ! sapnetdetect score-threshold=1 "
                      "output-format=yolo model-location=\"" +
                      model + "\" detections-file=\"" + results + "\" ! fakesink"),
            "");
  std::ifstream in(results);
  ASSERT_TRUE(in) << results;
  EXPECT_EQ(nlohmann::json::parse(in), nlohmann::json::array());
}

// Checked at start: even a stream without frames (num-buffers=0) fails.
TEST_F(GstPerception, UnwritableLabelsLocationFailsTheStart_n) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "s.pt", testing::segmenter_source(false));
  const auto msg = run_error("videotestsrc num-buffers=0 ! sapnetsegment model-location=\"" +
                             model + "\" labels-location=/nonexistent/map-%03d.png ! fakesink");
  EXPECT_NE(msg.find("/nonexistent/map-000.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
}

// A pattern printf cannot take safely fails the start too.
TEST_F(GstPerception, InvalidLabelsLocationPatternFailsTheStart_n) {
  TempDir dir;
  const std::string model = testing::save_module(dir / "s.pt", testing::segmenter_source(false));
  const auto msg =
      run_error("videotestsrc num-buffers=1 ! sapnetsegment model-location=\"" + model +
                "\" labels-location=\"" + (dir / "%s-%d.png") + "\" ! fakesink");
  EXPECT_NE(msg.find("labels-location"), std::string::npos) << msg;
  EXPECT_NE(msg.find("%s-%d.png"), std::string::npos) << msg;
}

TEST(PerceptionFiles, UnwritableReason) {
  TempDir dir;
  EXPECT_EQ(gst::unwritable_reason(dir / "new.json"), "");
  EXPECT_FALSE(std::filesystem::exists(dir / "new.json"));  // nothing left behind
  std::ofstream(dir / "old.json") << "keep";
  EXPECT_EQ(gst::unwritable_reason(dir / "old.json"), "");
  std::ifstream old(dir / "old.json");
  std::string kept;
  old >> kept;
  EXPECT_EQ(kept, "keep");  // not truncated
  EXPECT_NE(gst::unwritable_reason(dir / "missing/x.json"), "");
  EXPECT_NE(gst::unwritable_reason(dir.path()), "");  // a folder
}

TEST_F(GstPerception, WrongOutputShapeIsAnElementErrorNamingBothShapes_n) {
  TempDir dir;
  struct Case {
    std::string launch, expected, actual;
  };
  const std::vector<Case> cases = {
      {"sapnetdetect model-location=\"" +
           testing::save_module(dir / "a.pt", testing::kBadBoxesDetector) + "\"",
       "boxes N x 4", "[2 x 5]"},
      {"sapnetdetect output-format=yolo model-location=\"" +
           testing::save_module(dir / "b.pt", testing::kBadYoloDetector) + "\"",
       "1 x N x (5 + classes)", "[1 x 3 x 4]"},
      {"sapnetsegment model-location=\"" +
           testing::save_module(dir / "c.pt", testing::kBadSegmenter) + "\"",
       "1 x C x H x W", "[3 x 4 x 4]"},
  };
  for (const Case &c : cases) {
    const auto msg = run_error("videotestsrc num-buffers=2 ! video/x-raw,width=32,height=24 ! " +
                               c.launch + " ! fakesink");
    EXPECT_NE(msg.find(c.expected), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.actual), std::string::npos) << msg;
  }
}

// YOLOv5n (../shared/perception) on its 128 COCO val2017 images, through sapnetdetect as the
// perception README's contract says: letterboxed to 640 x 640 with 114, score = objectness x class
// probability for every class above 0.001, class-wise NMS at IoU 0.6, at most 300 boxes, boxes
// mapped back through the letterbox, COCO category ids from the ground truth's categories and
// image ids per frame. `sapnet eval-detect`'s scoring then lands within 0.01 of the reference
// computed in Python (mAP 0.338, mAP50 0.521).
TEST(GstPerceptionShared, YoloV5nOnCocoVal128MatchesTheReference) {
  SAPNET_REQUIRE_SHARED(model, "perception/yolov5n_640.torchscript");
  SAPNET_REQUIRE_SHARED(gt_path, "perception/coco_val128/instances_val128_gt.json");
  SAPNET_REQUIRE_SHARED(images, "perception/coco_val128/images");
  gst_init(nullptr, nullptr);
  GstElementFactory *jpegdec = gst_element_factory_find("jpegdec");
  if (!jpegdec) GTEST_SKIP() << "no jpegdec (gstreamer1.0-plugins-good)";
  gst_object_unref(jpegdec);
  std::ifstream in(gt_path);
  const auto gt = nlohmann::json::parse(in);
  std::vector<std::pair<std::string, int64_t>> files;  // name order, as pipelines/table5.sh
  for (const auto &img : gt["images"])
    files.emplace_back(img["file_name"].get<std::string>(), img["id"].get<int64_t>());
  std::sort(files.begin(), files.end());
  TempDir dir;
  std::string ids;
  for (size_t i = 0; i < files.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%05zu.jpg", i);
    std::filesystem::create_symlink(std::filesystem::path(images) / files[i].first, dir / name);
    ids += (i ? "," : "") + std::to_string(files[i].second);
  }
  const std::string dt = dir / "dt.json";
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = run_error(
      "multifilesrc location=\"" + (dir / "%05d.jpg") +
          "\" stop-index=" + std::to_string(files.size() - 1) +
          " caps=image/jpeg ! jpegdec ! videoconvert ! video/x-raw,format=RGB ! sapnetdetect "
          "device=cpu model-location=\"" +
          model +
          "\" output-format=yolo input-width=640 input-height=640 resize=letterbox pad-value=114 "
          "score-threshold=0.001 nms-threshold=0.6 multi-label=true max-detections=300 "
          "category-map=\"" +
          gt_path + "\" image-ids=" + ids + " detections-file=\"" + dt + "\" ! fakesink sync=false",
      1200);
  ASSERT_EQ(msg, "");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const DetectionSummary s = evaluate_detection_files(gt_path, dt);
  std::printf(
      "YOLOv5n, %zu images: mAP %.4f, mAP50 %.4f, mAP75 %.4f (%zu detections, %.2f s per "
      "image)\n",
      s.images, s.ap, s.ap50, s.ap75, s.detections, seconds / files.size());
  EXPECT_EQ(s.images, files.size());
  EXPECT_NEAR(s.ap, 0.338, 0.01);
  EXPECT_NEAR(s.ap50, 0.521, 0.01);
}

// Runs pipelines/table5.sh with `args`; returns its exit status and output (stdout, and stderr
// unless `stdout_only`).
std::pair<int, std::string> run_table5(const std::string &args, bool stdout_only = false) {
  const std::string cmd =
      "SAPNET_NO_BUILD=1 bash \"" + std::string(std::getenv("SAPNET_SOURCE_DIR")) +
      "/pipelines/table5.sh\" " + args + (stdout_only ? " 2>/dev/null" : " 2>&1");
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  return {pclose(p), output};
}

// pipelines/table5.sh on three generated images with tiny models and ground truth: the tables have
// their rows, and the clean row scores what the fixtures predict; without --seg-gt the clean
// frames' class maps are the reference (the clean row is not scored, the rainy one is), and
// --json prints the numbers.
TEST(Table5, RecipeRunsEndToEnd) {
  const char *src = std::getenv("SAPNET_SOURCE_DIR");
  const char *exe = std::getenv("SAPNET_EXE");
  if (!src || !exe) GTEST_SKIP() << "SAPNET_SOURCE_DIR/SAPNET_EXE unset (run through meson test)";
  if (std::system("command -v gst-launch-1.0 >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "gst-launch-1.0 is missing";
  if (std::system("command -v jq >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1") != 0)
    GTEST_SKIP()
        << "neither jq nor python3 (the script reads the ground truth's image ids with one)";
  if (!image_io_available()) GTEST_SKIP() << "no OpenCV image I/O";
  TempDir dir;
  std::filesystem::create_directories(dir / "images");
  std::filesystem::create_directories(dir / "seg-gt");
  const int w = 48, h = 32;
  nlohmann::json gt = {{"images", nlohmann::json::array()},
                       {"annotations", nlohmann::json::array()},
                       {"categories", {{{"id", 5}, {"name", "a"}}, {{"id", 6}, {"name", "b"}}}}};
  for (int i = 0; i < 3; ++i) {
    RgbImage img(w, h);
    for (size_t k = 0; k < img.pixels.size(); ++k) img.pixels[k] = uint8_t(40 + 3 * (k % 17));
    const std::string stem = "img" + std::to_string(i);
    write_image(dir / ("images/" + stem + ".png"), img);
    gt["images"].push_back(
        {{"id", 100 + i}, {"file_name", stem + ".png"}, {"width", w}, {"height", h}});
    // The detector's dark-image box, (1, 2) size 10 x 20, class 5.
    gt["annotations"].push_back({{"id", i + 1},
                                 {"image_id", 100 + i},
                                 {"category_id", 5},
                                 {"bbox", {1, 2, 10, 20}},
                                 {"area", 200},
                                 {"iscrowd", 0}});
    std::vector<uint8_t> ids(size_t(w) * h);
    for (int k = 0; k < w * h; ++k) ids[k] = uint8_t(testing::segmenter_class(k % w, k / w, w, h));
    gst::write_gray_png(dir / ("seg-gt/" + stem + ".png"), ids.data(), w, h);
  }
  std::ofstream(dir / "gt.json") << gt.dump();
  testing::save_module(dir / "det.pt", testing::kListDictDetector);
  testing::save_module(dir / "seg.pt", testing::segmenter_source(true));
  const std::string models = "--detector \"" + (dir / "det.pt") +
                             "\" --detector-format torchvision --segmenter \"" + (dir / "seg.pt") +
                             "\" --images \"" + (dir / "images") + "\" --seg-images \"" +
                             (dir / "images") + "\" --coco-annotations \"" + (dir / "gt.json") +
                             "\" --out \"" + (dir / "out") + "\" ";
  auto [status, output] = run_table5(models + "--seg-gt \"" + (dir / "seg-gt") +
                                     "\" --num-classes 3 --rain light --models bundled --stages 1");
  ASSERT_EQ(status, 0) << output;
  std::printf("%s", output.c_str());  // the tables, for the test log
  for (const char *row : {"Clean", "Rainy (light)", "Derained (light, bundled)", "s/image"})
    EXPECT_NE(output.find(row), std::string::npos) << output;
  // Clean images are dark: every detection matches its ground truth, every pixel its class.
  std::ifstream in(dir / "out/table5.json");
  ASSERT_TRUE(in) << output;
  auto j = nlohmann::json::parse(in);
  const auto &det = j["detection"]["rows"], &seg = j["segmentation"]["rows"];
  ASSERT_EQ(det.size(), 3u) << j.dump();
  ASSERT_EQ(seg.size(), 3u) << j.dump();
  EXPECT_EQ(det[0]["row"], "clean");
  EXPECT_NEAR(det[0]["mAP"].get<double>(), 1.0, 1e-9) << j.dump();
  EXPECT_NEAR(det[0]["mAP50"].get<double>(), 1.0, 1e-9) << j.dump();
  EXPECT_NEAR(seg[0]["mIoU"].get<double>(), 1.0, 1e-9) << j.dump();
  EXPECT_NEAR(seg[0]["mPA"].get<double>(), 1.0, 1e-9) << j.dump();
  EXPECT_EQ(det[2]["row"], "derained-light-bundled");
  EXPECT_TRUE(det[2]["mAP75"].is_number()) << j.dump();
  EXPECT_GT(det[2]["seconds_per_image"].get<double>(), 0) << j.dump();
  EXPECT_EQ(j["detection"]["images"], 3);

  // Consistency: the clean prediction is the reference; --json on stdout.
  std::tie(status, output) = run_table5(models +
                                            "--tasks segment --num-classes 3 --rain heavy "
                                            "--models none --limit 2 --json",
                                        true);
  ASSERT_EQ(status, 0) << output;
  ASSERT_NO_THROW(j = nlohmann::json::parse(output)) << output;
  EXPECT_FALSE(j.contains("detection")) << output;
  EXPECT_EQ(j["segmentation"]["reference"], "clean-prediction");
  EXPECT_EQ(j["segmentation"]["images"], 2);
  ASSERT_EQ(j["segmentation"]["rows"].size(), 2u) << output;
  EXPECT_TRUE(j["segmentation"]["rows"][0]["mIoU"].is_null()) << output;
  // The fixture ignores its input: rain changes nothing.
  EXPECT_NEAR(j["segmentation"]["rows"][1]["mIoU"].get<double>(), 1.0, 1e-9) << output;

  std::tie(status, output) = run_table5(models + "--rain drizzle");
  EXPECT_NE(status, 0);
  EXPECT_NE(output.find("unknown setting 'drizzle'"), std::string::npos) << output;
}

}  // namespace
}  // namespace sapnet
