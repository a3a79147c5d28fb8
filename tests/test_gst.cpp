// The GStreamer elements through GstHarness: every format against the Engine, odd sizes and padded
// strides, renegotiation, passthrough, live property changes, bad models, memory over 300 frames,
// rainsim.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "engine.h"
#include "frame.h"
#include "rain.h"
#include "shared_data.h"

namespace sapnet {
namespace {

constexpr const char *kOfficial = "weights/sapnet-official/Model11_net_latest.pth";
constexpr const char *kPrenet = "weights/prenet-official/PReNet6_Rain100L.pth";

class GstTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
  void SetUp() override {
    model_ = testing::shared_path(kOfficial);
    if (model_.empty()) GTEST_SKIP() << "../shared/" << kOfficial << " is absent";
  }

  GstHarness *harness(const std::string &props = "") {
    const std::string desc = "sapnetderain model-location=\"" + model_ + "\" stages=1 " + props;
    GstHarness *h = gst_harness_new_parse(desc.c_str());
    EXPECT_NE(h, nullptr);
    return h;
  }

  static GstCaps *caps(const char *format, int w, int h) {
    return gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, format, "width", G_TYPE_INT,
                               w, "height", G_TYPE_INT, h, "framerate", GST_TYPE_FRACTION, 25, 1,
                               nullptr);
  }

  // A buffer of random bytes laid out as GStreamer lays out `info` (rows padded to 4 bytes).
  static GstBuffer *random_buffer(const GstVideoInfo &info, unsigned seed) {
    GstBuffer *buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    std::mt19937 rng(seed);
    for (gsize i = 0; i < map.size; ++i) map.data[i] = rng() % 256;
    gst_buffer_unmap(buf, &map);
    return buf;
  }

  // What the Engine makes of the same frame, as bytes of the same layout.
  std::vector<uint8_t> engine_output(GstBuffer *in, GstVideoInfo *info, const std::string &model,
                                     int stages) {
    GstBuffer *copy = gst_buffer_copy_deep(in);
    GstVideoFrame frame;
    EXPECT_TRUE(gst_video_frame_map(&frame, info, copy, GST_MAP_READWRITE));
    FrameView v;
    v.format = pixel_format_from_name(gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(info)));
    v.width = GST_VIDEO_INFO_WIDTH(info);
    v.height = GST_VIDEO_INFO_HEIGHT(info);
    for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&frame); ++p) {
      v.planes[p] = static_cast<uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, p));
      v.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
    }
    EngineOptions o;
    o.model_path = model;
    o.stages = stages;
    Engine(o).process(v, v);
    gst_video_frame_unmap(&frame);
    auto bytes = bytes_of(copy);
    gst_buffer_unref(copy);
    return bytes;
  }

  static std::vector<uint8_t> bytes_of(GstBuffer *buf) {
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_READ);
    std::vector<uint8_t> out(map.data, map.data + map.size);
    gst_buffer_unmap(buf, &map);
    return out;
  }

  // Compares the pixels of two frames of `info` (row padding excluded).
  static void expect_same_pixels(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b,
                                 const GstVideoInfo &info, const char *what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    const GstVideoFormatInfo *f = info.finfo;
    int mismatches = 0;
    for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&info); ++p) {
      const int rows = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT(f, p, GST_VIDEO_INFO_HEIGHT(&info));
      const int cols = GST_VIDEO_FORMAT_INFO_SCALE_WIDTH(f, p, GST_VIDEO_INFO_WIDTH(&info)) *
                       GST_VIDEO_FORMAT_INFO_PSTRIDE(f, p);
      for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x) {
          const size_t i = GST_VIDEO_INFO_PLANE_OFFSET(&info, p) +
                           size_t(y) * GST_VIDEO_INFO_PLANE_STRIDE(&info, p) + x;
          mismatches += std::abs(int(a[i]) - int(b[i])) > 1;
        }
    }
    EXPECT_EQ(mismatches, 0) << what << " (" << a.size() << " bytes)";
  }

  // The sapnetderain inside a parsed harness (h->element is the bin around it).
  static GstElement *derain(GstHarness *h) {
    GstElement *e = gst_harness_find_element(h, "sapnetderain");
    gst_object_unref(e);  // the harness keeps it alive
    return e;
  }

  std::string model_;
};

TEST_F(GstTest, EveryFormatAndOddSizeMatchesTheEngine) {
  struct Case {
    const char *format;
    int w, h;
  };
  for (Case c : {Case{"RGB", 33, 7}, Case{"BGR", 1, 1}, Case{"RGBA", 16, 9}, Case{"BGRA", 5, 3},
                 Case{"RGBx", 7, 5}, Case{"BGRx", 12, 8}, Case{"NV12", 18, 10}, Case{"I420", 33, 7},
                 Case{"NV12", 1, 1}}) {
    GstHarness *h = harness();
    GstCaps *cp = caps(c.format, c.w, c.h);
    gst_harness_set_src_caps(h, gst_caps_ref(cp));
    GstVideoInfo info;
    ASSERT_TRUE(gst_video_info_from_caps(&info, cp));
    gst_caps_unref(cp);
    GstBuffer *in = random_buffer(info, c.w * 31 + c.h);
    const auto expected = engine_output(in, &info, model_, 1);
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    ASSERT_NE(out, nullptr) << c.format;
    const std::string what =
        std::string(c.format) + " " + std::to_string(c.w) + "x" + std::to_string(c.h);
    expect_same_pixels(bytes_of(out), expected, info, what.c_str());
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}

TEST_F(GstTest, RenegotiatesSizeAndFormatMidStream) {
  GstHarness *h = harness();
  for (auto [fmt, w, hgt] :
       {std::tuple{"RGB", 20, 10}, std::tuple{"I420", 14, 6}, std::tuple{"BGRx", 9, 9}}) {
    GstCaps *cp = caps(fmt, w, hgt);
    gst_harness_set_src_caps(h, gst_caps_ref(cp));
    GstVideoInfo info;
    gst_video_info_from_caps(&info, cp);
    gst_caps_unref(cp);
    GstBuffer *in = random_buffer(info, w);
    const auto expected = engine_output(in, &info, model_, 1);
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    ASSERT_NE(out, nullptr);
    expect_same_pixels(bytes_of(out), expected, info, fmt);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}

TEST_F(GstTest, DisabledPassesTheSameBufferThrough) {
  GstHarness *h = harness("enabled=false");
  gst_harness_set_src_caps(h, caps("RGB", 8, 8));
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 8, 8);
  GstBuffer *in = random_buffer(info, 1);
  GstBuffer *keep = gst_buffer_ref(in);
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  EXPECT_EQ(out, keep);  // no copy
  guint64 frames = 1;
  g_object_get(derain(h), "frames-processed", &frames, nullptr);
  EXPECT_EQ(frames, 0u);
  gst_buffer_unref(out);
  gst_buffer_unref(keep);
  gst_harness_teardown(h);
}

TEST_F(GstTest, PropertiesChangeWhilePlayingAndStatisticsCount) {
  SAPNET_REQUIRE_SHARED(prenet, kPrenet);
  GstHarness *h = harness();
  gst_harness_set_src_caps(h, caps("RGB", 12, 12));
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 12, 12);
  GstBuffer *in = random_buffer(info, 3);
  auto push = [&] {
    GstBuffer *out = gst_harness_push_and_pull(h, gst_buffer_copy_deep(in));
    auto b = bytes_of(out);
    gst_buffer_unref(out);
    return b;
  };
  const auto one_stage = push();
  g_object_set(derain(h), "stages", 2, nullptr);
  const auto two_stages = push();
  EXPECT_NE(one_stage, two_stages);
  expect_same_pixels(two_stages, engine_output(in, &info, model_, 2), info, "stages=2");
  g_object_set(derain(h), "model-location", prenet.c_str(), nullptr);
  const auto prenet_out = push();
  expect_same_pixels(prenet_out, engine_output(in, &info, prenet, 2), info, "PReNet");
  guint64 frames = 0;
  double avg = 0, last = 0;
  g_object_get(derain(h), "frames-processed", &frames, "average-latency-ms", &avg,
               "last-latency-ms", &last, nullptr);
  EXPECT_EQ(frames, 3u);
  EXPECT_GT(avg, 0.0);
  EXPECT_GT(last, 0.0);
  gst_buffer_unref(in);
  gst_harness_teardown(h);
}

// A pipeline that must fail to start: returns the error message and its debug detail.
std::string start_error(const std::string &launch) {
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(launch.c_str(), &err);
  EXPECT_EQ(err, nullptr);
  std::string msg;
  if (gst_element_set_state(pipe, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE ||
      gst_element_get_state(pipe, nullptr, nullptr, 5 * GST_SECOND) == GST_STATE_CHANGE_FAILURE) {
    GstBus *bus = gst_element_get_bus(pipe);
    GstMessage *m = gst_bus_timed_pop_filtered(bus, 0, GST_MESSAGE_ERROR);
    if (m) {
      GError *e = nullptr;
      gchar *dbg = nullptr;
      gst_message_parse_error(m, &e, &dbg);
      msg = std::string(e->message) + " | " + (dbg ? dbg : "");
      g_error_free(e);
      g_free(dbg);
      gst_message_unref(m);
    }
    gst_object_unref(bus);
  }
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  return msg;
}

TEST_F(GstTest, BadModelFailsTheStartNamingFileAndReason_n) {
  testing::TempDir dir;
  std::ofstream(dir / "corrupt.sapnet") << "not a model";
  for (const std::string &path : {dir / "missing.sapnet", dir / "corrupt.sapnet"}) {
    const auto msg = start_error("videotestsrc num-buffers=1 ! sapnetderain model-location=\"" +
                                 path + "\" ! fakesink");
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("Could not load"), std::string::npos) << msg;
  }
  const auto dev =
      start_error("videotestsrc num-buffers=1 ! sapnetderain device=tpu model-location=\"" +
                  model_ + "\" ! fakesink");
  EXPECT_NE(dev.find("unknown device 'tpu'"), std::string::npos) << dev;
}

long resident_kib() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST_F(GstTest, ThreeHundredFramesDoNotGrowMemory) {
  GstHarness *h = harness();
  gst_harness_set_src_caps(h, caps("NV12", 24, 16));
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_NV12, 24, 16);
  GstBuffer *in = random_buffer(info, 9);
  auto run = [&](int n) {
    for (int i = 0; i < n; ++i) gst_buffer_unref(gst_harness_push_and_pull(h, gst_buffer_ref(in)));
  };
  run(30);  // warm-up
  const long before = resident_kib();
  run(300);
  const long grown = resident_kib() - before;
  EXPECT_LT(grown, 4 * 1024) << "resident memory grew by " << grown << " KiB over 300 frames";
  gst_buffer_unref(in);
  gst_harness_teardown(h);
}

TEST(RainSim, DeterministicForASeedAndTheTrainingSynthesizer) {
  gst_init(nullptr, nullptr);
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 40, 30);
  std::vector<uint8_t> pixels(GST_VIDEO_INFO_SIZE(&info));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(40 + i % 150);
  auto run = [&](guint64 seed, int frames, const std::string &extra = "") {
    GstHarness *h = gst_harness_new_parse(
        ("rainsim density=0.01 seed=" + std::to_string(seed) + " " + extra).c_str());
    gst_harness_set_src_caps(
        h, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT,
                               40, "height", G_TYPE_INT, 30, "framerate", GST_TYPE_FRACTION, 25, 1,
                               nullptr));
    std::vector<std::vector<uint8_t>> out;
    for (int i = 0; i < frames; ++i) {
      GstBuffer *in = gst_buffer_new_memdup(pixels.data(), pixels.size());
      GstBuffer *o = gst_harness_push_and_pull(h, in);
      GstMapInfo map;
      gst_buffer_map(o, &map, GST_MAP_READ);
      out.emplace_back(map.data, map.data + map.size);
      gst_buffer_unmap(o, &map);
      gst_buffer_unref(o);
    }
    gst_harness_teardown(h);
    return out;
  };
  const auto a = run(5, 2), b = run(5, 2), c = run(6, 1), screen = run(5, 1, "blend=screen");
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0], c[0]);
  EXPECT_NE(a[0], a[1]);  // each frame gets its own streaks
  EXPECT_NE(a[0], screen[0]);
  // Frame 0 is the training synthesizer with seed (seed * 1000003 + 0).
  auto synthesized = [&](RainBlend blend) {
    std::vector<float> planar(3 * 40 * 30);
    std::vector<uint8_t> expected = pixels;
    auto view = FrameView::packed(PixelFormat::kRGB, expected.data(), 40, 30,
                                  GST_VIDEO_INFO_PLANE_STRIDE(&info, 0));
    frame_to_planar_rgb(view, planar.data());
    RainParams p;
    p.density = 0.01;
    p.blend = blend;
    add_rain(planar.data(), 40, 30, p, 5ull * 1000003ull);
    planar_rgb_to_frame(planar.data(), view, Rounding::kNearest);
    return expected;
  };
  EXPECT_EQ(a[0], synthesized(RainBlend::kAdd));
  EXPECT_EQ(screen[0], synthesized(RainBlend::kScreen));
}

}  // namespace
}  // namespace sapnet
