// The GStreamer elements through GstHarness: every format against the Engine, odd sizes and padded
// strides, renegotiation, passthrough, live property changes (tile-size and tile-overlap together),
// start errors that say why, memory over 300 frames and a soak (10,000 frames in CI), rainsim
// (errors instead of crashes), framelimit, and pipelines/demo.sh's outputs frame by frame.
#include <gst/check/gstharness.h>
#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/controller/gstinterpolationcontrolsource.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include "engine.h"
#include "frame.h"
#include "frame_view.h"
#include "gst_frames.h"
#include "model_file.h"
#include "rain.h"
#include "sapnet.h"
#include "shared_data.h"
#include "temporal_smoother.h"

namespace sapnet {
namespace {

constexpr const char *kOfficial = "weights/sapnet-official/Model11_net_latest.pth";
constexpr const char *kPrenet = "weights/prenet-official/PReNet6_Rain100L.pth";

// `property` of `element` follows a step function of stream time: `at_zero` from 0 s, `at_one`
// from 1 s (control values in [0, 1], mapped onto the property's range).
void bind_steps(GstElement *element, const char *property, double at_zero, double at_one) {
  GstControlSource *source = gst_interpolation_control_source_new();
  g_object_set(source, "mode", GST_INTERPOLATION_MODE_NONE, nullptr);
  auto *timed = GST_TIMED_VALUE_CONTROL_SOURCE(source);
  gst_timed_value_control_source_set(timed, 0, at_zero);
  gst_timed_value_control_source_set(timed, GST_SECOND, at_one);
  gst_object_add_control_binding(
      GST_OBJECT(element), gst_direct_control_binding_new(GST_OBJECT(element), property, source));
  gst_object_unref(source);
}

GstBuffer *timestamped(GstBuffer *buffer, GstClockTime pts) {
  GST_BUFFER_PTS(buffer) = pts;
  return buffer;
}

std::vector<uint8_t> pull_bytes(GstHarness *h, GstBuffer *in) {
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  GstMapInfo map;
  gst_buffer_map(out, &map, GST_MAP_READ);
  std::vector<uint8_t> bytes(map.data, map.data + map.size);
  gst_buffer_unmap(out, &map);
  gst_buffer_unref(out);
  return bytes;
}

class GstTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
  void SetUp() override {
    model_ = testing::shared_path(kOfficial);
    if (model_.empty()) GTEST_SKIP() << "../shared/" << kOfficial << " is absent";
  }

  // On the CPU, as the Engine the outputs are compared with (the element's default, auto, picks a
  // GPU where there is one); `props` may name another device.
  GstHarness *harness(const std::string &props = "") {
    const std::string desc =
        "sapnetderain model-location=\"" + model_ + "\" stages=1 device=cpu " + props;
    GstHarness *h = gst_harness_new_parse(desc.c_str());
    EXPECT_NE(h, nullptr);
    return h;
  }

  static GstCaps *caps(const char *format, int w, int h) {
    return gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, format, "width", G_TYPE_INT,
                               w, "height", G_TYPE_INT, h, "framerate", GST_TYPE_FRACTION, 25, 1,
                               nullptr);
  }

  static GstBuffer *random_buffer(const GstVideoInfo &info, unsigned seed) {
    return testing::random_video_buffer(info, seed);
  }

  // What the Engine makes of the same frame, as bytes of the same layout.
  std::vector<uint8_t> engine_output(GstBuffer *in, GstVideoInfo *info, const std::string &model,
                                     int stages, int tile = 0, int overlap = 0) {
    GstBuffer *copy = gst_buffer_copy_deep(in);
    GstVideoFrame frame;
    EXPECT_TRUE(gst_video_frame_map(&frame, info, copy, GST_MAP_READWRITE));
    const FrameView v = sapnet::gst::view_of(&frame);  // with the caps' colorimetry
    EngineOptions o;
    o.model_path = model;
    o.stages = stages;
    o.tile_size = tile;
    o.tile_overlap = overlap;
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

// An application's control binding drives `enabled` frame by frame (the frame's stream time).
TEST_F(GstTest, ControlledEnabledFollowsItsBindingFrameByFrame) {
  GstHarness *h = harness();
  gst_harness_set_src_caps(h, caps("RGB", 8, 8));
  bind_steps(derain(h), "enabled", 1.0, 0.0);
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 8, 8);
  GstBuffer *in = timestamped(random_buffer(info, 1), 0);
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  EXPECT_NE(out, in) << "derained at 0 s";
  gst_buffer_unref(out);
  in = timestamped(random_buffer(info, 2), GST_SECOND);
  GstBuffer *keep = gst_buffer_ref(in);
  out = gst_harness_push_and_pull(h, in);
  EXPECT_EQ(out, keep) << "passed through from 1 s";
  gboolean enabled = TRUE;
  guint64 frames = 0;
  g_object_get(derain(h), "enabled", &enabled, "frames-processed", &frames, nullptr);
  EXPECT_FALSE(enabled);
  EXPECT_EQ(frames, 1u);
  gst_buffer_unref(out);
  gst_buffer_unref(keep);
  gst_harness_teardown(h);
}

// Deraining changes no geometry: an upstream analytics element's regions of interest stay on the
// derained frame, as they do on a frame passed through.
TEST_F(GstTest, RegionsOfInterestFromUpstreamStayOnDerainedFrames) {
  GstHarness *h = harness();
  gst_harness_set_src_caps(h, caps("RGB", 16, 12));
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 16, 12);
  GstBuffer *in = random_buffer(info, 3);
  gst_buffer_add_video_region_of_interest_meta(in, "car", 1, 2, 5, 4);
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  guint64 frames = 0;
  g_object_get(derain(h), "frames-processed", &frames, nullptr);
  EXPECT_EQ(frames, 1u) << "derained, not passed through";
  const GstVideoRegionOfInterestMeta *roi = gst_buffer_get_video_region_of_interest_meta(out);
  ASSERT_NE(roi, nullptr);
  EXPECT_STREQ(g_quark_to_string(roi->roi_type), "car");
  EXPECT_EQ(roi->x, 1u);
  EXPECT_EQ(roi->y, 2u);
  EXPECT_EQ(roi->w, 5u);
  EXPECT_EQ(roi->h, 4u);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

// Caps negotiated while frames pass through decide no buffer pool (the base class skips the
// allocation query then): when deraining resumes, the element asks downstream for one, so that
// output buffers come from downstream's pool (under CUDA-memory caps: CUDA memory).
TEST_F(GstTest, ResumingAfterPassthroughNegotiationUsesDownstreamsPool) {
  GstHarness *h = harness("enabled=false");
  GstPad *src = gst_element_get_static_pad(h->element, "src");
  int pools_given = 0;
  // Downstream (the harness) offers a video buffer pool for the caps asked about.
  gst_pad_add_probe(
      src, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
      [](GstPad *, GstPadProbeInfo *info, gpointer given) -> GstPadProbeReturn {
        GstQuery *q = GST_PAD_PROBE_INFO_QUERY(info);
        if (GST_QUERY_TYPE(q) != GST_QUERY_ALLOCATION) return GST_PAD_PROBE_OK;
        GstCaps *caps = nullptr;
        gst_query_parse_allocation(q, &caps, nullptr);
        GstVideoInfo vinfo;
        if (!caps || !gst_video_info_from_caps(&vinfo, caps)) return GST_PAD_PROBE_OK;
        GstBufferPool *pool = gst_video_buffer_pool_new();
        gst_query_add_allocation_pool(q, pool, guint(vinfo.size), 2, 0);
        gst_object_unref(pool);
        ++*static_cast<int *>(given);
        return GST_PAD_PROBE_HANDLED;
      },
      &pools_given, nullptr);
  gst_object_unref(src);

  GstVideoInfo small, large;
  gst_video_info_set_format(&small, GST_VIDEO_FORMAT_RGB, 8, 8);
  gst_video_info_set_format(&large, GST_VIDEO_FORMAT_RGB, 16, 8);
  gst_harness_set_src_caps(h, caps("RGB", 8, 8));
  GstBuffer *in = random_buffer(small, 3);
  GstBuffer *keep = gst_buffer_ref(in);
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  EXPECT_EQ(out, keep);  // passed through
  gst_buffer_unref(out);
  gst_buffer_unref(keep);

  // New caps while passing through, then deraining again.
  const int pools_before = pools_given;
  gst_harness_set_src_caps(h, caps("RGB", 16, 8));
  g_object_set(derain(h), "enabled", TRUE, nullptr);
  in = random_buffer(large, 4);
  const auto expected = engine_output(in, &large, model_, 1);
  out = gst_harness_push_and_pull(h, in);
  ASSERT_NE(out, nullptr);
  EXPECT_GT(pools_given, pools_before) << "downstream was not asked for a pool";
  EXPECT_NE(out->pool, nullptr) << "the output buffer is not from downstream's pool";
  expect_same_pixels(bytes_of(out), expected, large, "RGB");
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

// temporal=S: each output is the plain output blended as TemporalSmoother does; a discontinuity
// (and so a seek) takes the plain output as it is.
TEST_F(GstTest, TemporalModeSteadiesOutputsAndForgetsAtADiscontinuity) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 32, 24);
  GstBuffer *a = random_buffer(info, 11);
  GstBuffer *b = gst_buffer_copy_deep(a);
  {
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_WRITE);
    for (gsize i = 0; i < map.size; ++i) map.data[i] = uint8_t(std::min(255, map.data[i] + 3));
    gst_buffer_unmap(b, &map);
  }
  auto run = [&](const std::string &props, bool discont_b) {
    GstHarness *h = harness(props);
    gst_harness_set_src_caps(h, caps("RGB", 32, 24));
    std::vector<std::vector<uint8_t>> outs;
    for (GstBuffer *in : {a, b}) {
      GstBuffer *copy = gst_buffer_copy_deep(in);
      if (in == b && discont_b) GST_BUFFER_FLAG_SET(copy, GST_BUFFER_FLAG_DISCONT);
      GstBuffer *o = gst_harness_push_and_pull(h, copy);
      GstMapInfo map;
      gst_buffer_map(o, &map, GST_MAP_READ);
      outs.emplace_back(map.data, map.data + map.size);
      gst_buffer_unmap(o, &map);
      gst_buffer_unref(o);
    }
    gst_harness_teardown(h);
    return outs;
  };
  const auto plain = run("", false), smoothed = run("temporal=0.6", false);
  auto expected = plain;
  TemporalSmoothing t;
  t.strength = 0.6f;
  TemporalSmoother smoother(t);
  for (auto &frame : expected)
    smoother.apply(FrameView::packed(PixelFormat::kRGB, frame.data(), 32, 24,
                                     GST_VIDEO_INFO_PLANE_STRIDE(&info, 0)));
  EXPECT_EQ(smoothed[0], plain[0]);  // nothing before the first frame
  EXPECT_EQ(smoothed[1], expected[1]);
  EXPECT_NE(smoothed[1], plain[1]);  // the mode did something
  EXPECT_EQ(run("temporal=0.6", true)[1], plain[1]);
  gst_buffer_unref(a);
  gst_buffer_unref(b);
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

// A pipeline that must fail to start: returns the error message and its debug detail (only the
// message, the line gst-launch prints after "ERROR:", with message_only).
std::string start_error(const std::string &launch, bool message_only = false) {
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
      msg = message_only ? std::string(e->message)
                         : std::string(e->message) + " | " + (dbg ? dbg : "");
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

// GstVideoInfo's colorimetry reaches the Engine: BT.601/BT.709, limited/full range from the
// caps, GStreamer's defaults (BT.601 for SD, BT.709 for HD) when the caps name none.
TEST_F(GstTest, CapsColorimetryReachesTheEngine) {
  struct Case {
    const char *colorimetry;
    YuvMatrix matrix;
    YuvRange range;
  };
  const Case cases[] = {{"bt601", YuvMatrix::kBT601, YuvRange::kLimited},
                        {"1:4:0:0", YuvMatrix::kBT601, YuvRange::kFull},
                        {"bt709", YuvMatrix::kBT709, YuvRange::kLimited},
                        {"1:3:5:1", YuvMatrix::kBT709, YuvRange::kFull}};
  std::vector<std::vector<uint8_t>> outputs;
  for (const Case &c : cases) {
    GstCaps *cp = caps("NV12", 16, 8);
    gst_caps_set_simple(cp, "colorimetry", G_TYPE_STRING, c.colorimetry, nullptr);
    GstVideoInfo info;
    ASSERT_TRUE(gst_video_info_from_caps(&info, cp)) << c.colorimetry;
    const Colorimetry got = sapnet::gst::colorimetry_of(info.colorimetry);
    EXPECT_EQ(got.matrix, c.matrix) << c.colorimetry;
    EXPECT_EQ(got.range, c.range) << c.colorimetry;
    GstHarness *h = harness();
    gst_harness_set_src_caps(h, cp);
    GstBuffer *in = random_buffer(info, 5);  // the same bytes every time
    const auto expected = engine_output(in, &info, model_, 1);
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    ASSERT_NE(out, nullptr) << c.colorimetry;
    outputs.push_back(bytes_of(out));
    expect_same_pixels(outputs.back(), expected, info, c.colorimetry);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
  for (size_t i = 1; i < outputs.size(); ++i)
    EXPECT_NE(outputs[i], outputs[0])
        << cases[i].colorimetry << " read as " << cases[0].colorimetry;
  GstVideoInfo sd, hd;
  gst_video_info_set_format(&sd, GST_VIDEO_FORMAT_NV12, 640, 480);
  gst_video_info_set_format(&hd, GST_VIDEO_FORMAT_NV12, 1920, 1080);
  EXPECT_EQ(sapnet::gst::colorimetry_of(sd.colorimetry).matrix, YuvMatrix::kBT601);
  EXPECT_EQ(sapnet::gst::colorimetry_of(hd.colorimetry).matrix, YuvMatrix::kBT709);
}

// frames-processed counts from each start: a pipeline run twice reports the second run's frames.
TEST_F(GstTest, FramesProcessedRestartsAtStart) {
  const std::string launch =
      "videotestsrc num-buffers=3 ! video/x-raw,format=RGB,width=16,height=12 ! sapnetderain "
      "name=d stages=1 model-location=\"" +
      model_ + "\" ! fakesink";
  GstElement *pipe = gst_parse_launch(launch.c_str(), nullptr);
  ASSERT_NE(pipe, nullptr);
  GstElement *d = gst_bin_get_by_name(GST_BIN(pipe), "d");
  GstBus *bus = gst_element_get_bus(pipe);
  for (int run = 0; run < 2; ++run) {
    ASSERT_NE(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    GstMessage *m = gst_bus_timed_pop_filtered(
        bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(GST_MESSAGE_TYPE(m), GST_MESSAGE_EOS);
    gst_message_unref(m);
    guint64 frames = 0;
    g_object_get(d, "frames-processed", &frames, nullptr);
    EXPECT_EQ(frames, 3u) << "run " << run + 1;
    gst_element_set_state(pipe, GST_STATE_NULL);
  }
  gst_object_unref(bus);
  gst_object_unref(d);
  gst_object_unref(pipe);
}

// Every ERROR (or WARNING) message on `bus`, one per line.
std::string bus_text(GstBus *bus, GstMessageType type) {
  std::string out;
  while (GstMessage *m = gst_bus_pop_filtered(bus, type)) {
    GError *e = nullptr;
    gchar *dbg = nullptr;
    if (type == GST_MESSAGE_ERROR)
      gst_message_parse_error(m, &e, &dbg);
    else
      gst_message_parse_warning(m, &e, &dbg);
    out += std::string(e->message) + "\n";
    g_error_free(e);
    g_free(dbg);
    gst_message_unref(m);
  }
  return out;
}

// A bus for a harness's element (harnesses have none), to read what the element posts.
GstBus *watch(GstHarness *h) {
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  return bus;
}

// The same element with the bundled model, which every checkout has.
class GstBundled : public GstTest {
 protected:
  void SetUp() override {
    try {
      model_ = default_model_path();
      EngineOptions o;
      o.model_path = model_;
      model_stages_ = Engine(o).network().stages;
    } catch (const std::exception &e) {
      GTEST_SKIP() << e.what();
    }
  }
  int model_stages_ = 0;
};

// Properties set together take effect together (item: 64/30 -> 32/10 while playing), and an invalid
// pair reached one property at a time neither stops the stream nor is used.
TEST_F(GstBundled, TileSizeAndOverlapChangedTogetherTakeEffectTogether) {
  GstHarness *h = harness("tile-size=64 tile-overlap=30");
  GstBus *bus = watch(h);
  const int w = 100, hgt = 80;  // larger than both tile sizes
  gst_harness_set_src_caps(h, caps("RGB", w, hgt));
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, w, hgt);
  GstBuffer *in = random_buffer(info, 5);
  const auto tiles_64_30 = engine_output(in, &info, model_, 1, 64, 30);
  const auto tiles_32_10 = engine_output(in, &info, model_, 1, 32, 10);
  ASSERT_NE(tiles_64_30, tiles_32_10);
  auto push = [&](const char *what) {
    EXPECT_EQ(gst_harness_push(h, gst_buffer_copy_deep(in)), GST_FLOW_OK)
        << what << ": " << bus_text(bus, GST_MESSAGE_ERROR);
    std::vector<uint8_t> bytes;
    if (GstBuffer *out = gst_harness_try_pull(h)) {
      bytes = bytes_of(out);
      gst_buffer_unref(out);
    }
    return bytes;
  };
  GObject *d = G_OBJECT(derain(h));
  expect_same_pixels(push("64/30"), tiles_64_30, info, "64/30");
  // One change in a freeze_notify/thaw_notify block, a frame in the middle: it still has 64/30.
  g_object_freeze_notify(d);
  g_object_set(d, "tile-size", 32, nullptr);
  expect_same_pixels(push("half set"), tiles_64_30, info, "tile-size 32 not yet live");
  g_object_set(d, "tile-overlap", 10, nullptr);
  g_object_thaw_notify(d);
  expect_same_pixels(push("32/10"), tiles_32_10, info, "32/10");
  // One g_object_set() with both.
  g_object_set(d, "tile-size", 64, "tile-overlap", 30, nullptr);
  expect_same_pixels(push("64/30 again"), tiles_64_30, info, "64/30 again");
  // One at a time with a frame in between: the invalid 32/30 is not used, a warning says why.
  g_object_set(d, "tile-size", 32, nullptr);
  expect_same_pixels(push("32/30"), tiles_64_30, info, "32/30 keeps 64/30");
  const std::string warnings = bus_text(bus, GST_MESSAGE_WARNING);
  EXPECT_NE(warnings.find("tile-overlap 30 is too large for tile-size 32"), std::string::npos)
      << warnings;
  g_object_set(d, "tile-overlap", 10, nullptr);
  expect_same_pixels(push("32/10 again"), tiles_32_10, info, "32/10 again");
  EXPECT_EQ(bus_text(bus, GST_MESSAGE_ERROR), "");
  gst_buffer_unref(in);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}

// The same in a playing pipeline, the streaming thread taking frames while the pair flips.
TEST_F(GstBundled, TilingPairFlippedWhileFramesFlowNeverFails) {
  const std::string launch =
      "videotestsrc pattern=snow ! video/x-raw,format=RGB,width=72,height=40 ! sapnetderain "
      "name=d stages=1 tile-size=64 tile-overlap=30 model-location=\"" +
      model_ + "\" ! fakesink sync=false";
  GstElement *pipe = gst_parse_launch(launch.c_str(), nullptr);
  ASSERT_NE(pipe, nullptr);
  GstElement *d = gst_bin_get_by_name(GST_BIN(pipe), "d");
  ASSERT_NE(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  for (int i = 0; i < 25; ++i) {
    g_object_set(d, "tile-size", 32, "tile-overlap", 10, nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    g_object_set(d, "tile-size", 64, "tile-overlap", 30, nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  guint64 frames = 0;
  g_object_get(d, "frames-processed", &frames, nullptr);
  GstBus *bus = gst_element_get_bus(pipe);
  const std::string problems =
      bus_text(bus, GST_MESSAGE_ERROR) + bus_text(bus, GST_MESSAGE_WARNING);
  EXPECT_EQ(problems, "");
  EXPECT_GT(frames, 0u);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(d);
  gst_object_unref(pipe);
}

// tile-size alone always works: tile-overlap -1 (the default) is min(32, tile-size / 4).
TEST_F(GstBundled, TileSizeAloneWorksWithTheAutomaticOverlap) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 80, 60);
  GstBuffer *in = random_buffer(info, 11);
  for (int tile : {16, 32, 64}) {
    GstHarness *h = harness("tile-size=" + std::to_string(tile));
    gint overlap = 0;
    g_object_get(derain(h), "tile-overlap", &overlap, nullptr);
    EXPECT_EQ(overlap, -1);
    gst_harness_set_src_caps(h, caps("RGB", 80, 60));
    GstBuffer *out = gst_harness_push_and_pull(h, gst_buffer_copy_deep(in));
    ASSERT_NE(out, nullptr) << "tile-size " << tile;
    expect_same_pixels(bytes_of(out),
                       engine_output(in, &info, model_, 1, tile, std::min(32, tile / 4)), info,
                       ("tile-size " + std::to_string(tile)).c_str());
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
  gst_buffer_unref(in);
}

// What gst-launch prints as the ERROR line says why, with the file where one is involved.
TEST_F(GstBundled, StartErrorsSayWhyInTheMessage_n) {
  const std::string head =
      "videotestsrc num-buffers=1 ! video/x-raw,width=32,height=24 ! sapnetderain "
      "model-location=\"" +
      model_ + "\" ";
  auto error = [&](const std::string &props) {
    return start_error(head + props + " ! fakesink", /*message_only=*/true);
  };
  const auto npos = std::string::npos;
  {
    const std::string too_many = std::to_string(model_stages_ + 1);
    const auto m = error("stages=" + too_many);
    EXPECT_NE(m.find("stages=" + too_many), npos) << m;
    EXPECT_NE(m.find("only " + std::to_string(model_stages_) + " stages"), npos) << m;
    EXPECT_NE(m.find(model_), npos) << m;
  }
  if (!cuda_available()) {
    const auto m = error("device=cuda");
    EXPECT_NE(m.find("device 'cuda'"), npos) << m;
    EXPECT_NE(m.find("CUDA"), npos) << m;
    EXPECT_NE(m.find(model_), npos) << m;
  }
  const auto fp16 = error("device=cpu precision=fp16");
  EXPECT_NE(fp16.find("fp16 needs a CUDA device"), npos) << fp16;
  const auto small = error("tile-size=15");
  EXPECT_NE(small.find("tile-size 15 is too small"), npos) << small;
  EXPECT_NE(small.find("at least 16"), npos) << small;
  const auto overlap = error("tile-size=32 tile-overlap=16");
  EXPECT_NE(overlap.find("tile-overlap 16 is too large for tile-size 32"), npos) << overlap;
  EXPECT_NE(overlap.find("0..15"), npos) << overlap;
  testing::TempDir dir;
  const auto missing = start_error("videotestsrc num-buffers=1 ! sapnetderain model-location=\"" +
                                       (dir / "m.sapnet") + "\" ! fakesink",
                                   true);
  EXPECT_NE(missing.find(dir / "m.sapnet"), npos) << missing;
  EXPECT_NE(missing.find("no such file"), npos) << missing;
}

// Too many stages while playing: the same rule as at start, an error naming both numbers.
TEST_F(GstBundled, TooManyStagesWhilePlayingIsAnErrorNamingBothNumbers_n) {
  GstHarness *h = harness();
  GstBus *bus = watch(h);
  gst_harness_set_src_caps(h, caps("RGB", 16, 12));
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 16, 12);
  GstBuffer *in = random_buffer(info, 2);
  EXPECT_EQ(gst_harness_push(h, gst_buffer_copy_deep(in)), GST_FLOW_OK);
  g_object_set(derain(h), "stages", model_stages_ + 1, nullptr);
  EXPECT_EQ(gst_harness_push(h, gst_buffer_copy_deep(in)), GST_FLOW_ERROR);
  const std::string errors = bus_text(bus, GST_MESSAGE_ERROR);
  EXPECT_NE(errors.find("stages=" + std::to_string(model_stages_ + 1)), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("only " + std::to_string(model_stages_) + " stages"), std::string::npos)
      << errors;
  gst_buffer_unref(in);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}

// A model file with `stages` stages and random weights: enough to check the stage limits without
// depending on how many stages the bundled model has.
// RGB rows packed without GStreamer's 4-byte padding (what an application pushing numpy or OpenCV
// images to appsrc often does): 33x24 needs 100-byte rows, this buffer has 99. The frame is an
// error naming both sizes; it used to be a warning and an unwritten (garbage) output frame.
TEST_F(GstBundled, ABufferTooShortForItsCapsIsAnErrorNotAnUnwrittenFrame_n) {
  GstHarness *h = harness();
  gst_harness_set_src_caps(h, caps("RGB", 33, 24));
  GstBus *bus = watch(h);
  GstBuffer *packed = gst_buffer_new_allocate(nullptr, 33 * 3 * 24, nullptr);
  gst_buffer_memset(packed, 0, 77, 33 * 3 * 24);
  EXPECT_EQ(gst_harness_push(h, packed), GST_FLOW_ERROR);
  EXPECT_EQ(gst_harness_buffers_received(h), 0u);
  const std::string errors = bus_text(bus, GST_MESSAGE_ERROR);
  EXPECT_NE(errors.find("holds 2376 bytes"), std::string::npos) << errors;
  EXPECT_NE(errors.find("needs 2400"), std::string::npos) << errors;
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

std::string write_model(const testing::TempDir &dir, int stages) {
  NetworkConfig config;
  config.stages = stages;
  torch::manual_seed(stages);
  SAPNet net(config);
  ModelFile m;
  m.network = config;
  m.weights = weights_of(*net);
  const std::string path = dir / ("stages" + std::to_string(stages) + ".sapnet");
  save_checkpoint(path, m);
  return path;
}

// The stages property goes up to what the loaded model has (here 2 and 8, more than the 6 of
// SAPNet), and one rule holds above it: an error naming both numbers, at start and while playing.
TEST_F(GstTest, StagesRangeIsTheLoadedModels) {
  testing::TempDir dir;
  for (int most : {2, 8}) {
    const std::string path = write_model(dir, most);
    const std::string desc =
        "sapnetderain model-location=\"" + path + "\" stages=" + std::to_string(most);
    GstHarness *h = gst_harness_new_parse(desc.c_str());
    ASSERT_NE(h, nullptr);
    GstBus *bus = watch(h);
    int stages = 0;
    g_object_get(derain(h), "stages", &stages, nullptr);
    EXPECT_EQ(stages, most);
    gst_harness_set_src_caps(h, caps("RGB", 16, 12));
    GstVideoInfo info;
    gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, 16, 12);
    GstBuffer *in = random_buffer(info, 4);
    GstBuffer *out = gst_harness_push_and_pull(h, gst_buffer_copy_deep(in));
    ASSERT_NE(out, nullptr) << most;
    expect_same_pixels(bytes_of(out), engine_output(in, &info, path, most), info, "all stages");
    gst_buffer_unref(out);
    // While playing: one above the model's count fails the next frame, naming both numbers.
    g_object_set(derain(h), "stages", most + 1, nullptr);
    EXPECT_EQ(gst_harness_push(h, gst_buffer_copy_deep(in)), GST_FLOW_ERROR);
    const std::string errors = bus_text(bus, GST_MESSAGE_ERROR);
    EXPECT_NE(errors.find("stages=" + std::to_string(most + 1)), std::string::npos) << errors;
    EXPECT_NE(errors.find("only " + std::to_string(most) + " stages"), std::string::npos) << errors;
    gst_buffer_unref(in);
    gst_harness_teardown(h);
    gst_object_unref(bus);
    // At start: the same rule, the same message.
    const auto m = start_error(
        "videotestsrc num-buffers=1 ! video/x-raw,width=16,height=12 ! "
        "sapnetderain model-location=\"" +
            path + "\" stages=" + std::to_string(most + 1) + " ! fakesink",
        true);
    EXPECT_NE(m.find("stages=" + std::to_string(most + 1)), std::string::npos) << m;
    EXPECT_NE(m.find("only " + std::to_string(most) + " stages"), std::string::npos) << m;
  }
}

long resident_kib() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// The soak: small frames through the bundled model (fresh buffers each time, as a source gives
// them) leave resident memory flat once warm. 1,500 frames here; CI runs 10,000
// (SAPNET_SOAK_FRAMES), which take minutes on a small CPU.
TEST_F(GstBundled, SoakKeepsMemoryFlat) {
  const char *env = std::getenv("SAPNET_SOAK_FRAMES");
  const int frames = std::max(1000, env ? std::atoi(env) : 1500);
  GstHarness *h = harness();
  gst_harness_set_src_caps(h, caps("RGBA", 16, 16));
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGBA, 16, 16);
  auto run = [&](int n, unsigned seed) {
    for (int i = 0; i < n; ++i)
      gst_buffer_unref(gst_harness_push_and_pull(h, random_buffer(info, seed + i)));
  };
  run(500, 0);  // warm-up: allocator pools and LibTorch's caches settle
  const long warm = resident_kib();
  run(frames - 500, 500);
  const long grown = resident_kib() - warm;
  EXPECT_LT(grown, 4 * 1024) << "resident memory grew by " << grown << " KiB over " << frames - 500
                             << " frames";
  gst_harness_teardown(h);
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
  const auto heavy = run(5, 1, "layers=3 haze=0.3 drops=20 drop-radius=3");
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0], c[0]);
  EXPECT_NE(a[0], a[1]);  // each frame gets its own streaks
  EXPECT_NE(a[0], screen[0]);
  EXPECT_NE(a[0], heavy[0]);
  // Frame 0 is the training synthesizer with seed (seed * 1000003 + 0).
  auto synthesized = [&](RainBlend blend, int layers = 1, double haze = 0, double drops = 0,
                         double drop_radius = RainParams().drop_radius) {
    std::vector<float> planar(3 * 40 * 30);
    std::vector<uint8_t> expected = pixels;
    auto view = FrameView::packed(PixelFormat::kRGB, expected.data(), 40, 30,
                                  GST_VIDEO_INFO_PLANE_STRIDE(&info, 0));
    frame_to_planar_rgb(view, planar.data());
    RainParams p;
    p.density = 0.01;
    p.blend = blend;
    p.layers = layers;
    p.haze = haze;
    p.drops = drops;
    p.drop_radius = drop_radius;
    add_rain(planar.data(), 40, 30, p, 5ull * 1000003ull);
    planar_rgb_to_frame(planar.data(), view, Rounding::kNearest);
    return expected;
  };
  EXPECT_EQ(a[0], synthesized(RainBlend::kAdd));
  EXPECT_EQ(screen[0], synthesized(RainBlend::kScreen));
  EXPECT_EQ(heavy[0], synthesized(RainBlend::kAdd, 3, 0.3, 20, 3));
}

TEST(RainSim, ControlledPropertiesFollowTheirBindingAndASeekRestartsTheCount) {
  gst_init(nullptr, nullptr);
  std::vector<uint8_t> pixels(40 * 30 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(40 + i % 150);
  auto frame = [&] { return gst_buffer_new_memdup(pixels.data(), pixels.size()); };
  GstHarness *h = gst_harness_new_parse("rainsim seed=5");
  gst_harness_set_src_caps(h, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB",
                                                  "width", G_TYPE_INT, 40, "height", G_TYPE_INT, 30,
                                                  "framerate", GST_TYPE_FRACTION, 25, 1, nullptr));
  GstElement *rain = gst_harness_find_element(h, "rainsim");
  bind_steps(rain, "density", 0.0, 0.5);  // density 0, then 0.1 (half of 0.2)
  double density = -1;
  EXPECT_EQ(pull_bytes(h, timestamped(frame(), 0)), pixels) << "density 0 adds no rain";
  g_object_get(rain, "density", &density, nullptr);
  EXPECT_EQ(density, 0.0);
  const auto first = pull_bytes(h, timestamped(frame(), GST_SECOND));
  g_object_get(rain, "density", &density, nullptr);
  EXPECT_NEAR(density, 0.1, 1e-12);
  EXPECT_NE(first, pixels);
  EXPECT_NE(pull_bytes(h, timestamped(frame(), 2 * GST_SECOND)), first) << "a frame of its own";

  // A seek (flush) starts the count anew: the same frame time gets the same rain.
  gst_harness_push_event(h, gst_event_new_flush_start());
  gst_harness_push_event(h, gst_event_new_flush_stop(TRUE));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_harness_push_event(h, gst_event_new_segment(&segment));
  EXPECT_EQ(pull_bytes(h, timestamped(frame(), 0)), pixels);
  EXPECT_EQ(pull_bytes(h, timestamped(frame(), GST_SECOND)), first);
  gst_object_unref(rain);
  gst_harness_teardown(h);
}

// Frame N gets the rain of frame N even when QoS dropped an earlier frame (the count was taken
// after the drop, so frame 2 got frame 1's rain); a buffer too short for its caps is an error.
TEST(RainSim, AFrameDroppedByQosDoesNotShiftTheRain_n) {
  gst_init(nullptr, nullptr);
  std::vector<uint8_t> pixels(40 * 30 * 3, 120);
  auto frame = [&](int i) {
    return timestamped(gst_buffer_new_memdup(pixels.data(), pixels.size()), i * GST_SECOND / 25);
  };
  auto start = [] {
    GstHarness *h = gst_harness_new_parse("rainsim seed=5 density=0.05");
    gst_harness_set_src_caps(
        h, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT,
                               40, "height", G_TYPE_INT, 30, "framerate", GST_TYPE_FRACTION, 25, 1,
                               nullptr));
    return h;
  };
  GstHarness *h = start();
  std::vector<std::vector<uint8_t>> expected;
  for (int i = 0; i < 3; ++i) expected.push_back(pull_bytes(h, frame(i)));
  gst_harness_teardown(h);
  ASSERT_NE(expected[1], expected[2]);

  h = start();
  EXPECT_EQ(pull_bytes(h, frame(0)), expected[0]);
  // Downstream: frame 0 came 60 ms late, so the frame at 40 ms is dropped.
  gst_harness_push_upstream_event(
      h, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 1.5, 60 * GST_MSECOND, 0));
  EXPECT_EQ(gst_harness_push(h, frame(1)), GST_FLOW_OK);
  EXPECT_EQ(pull_bytes(h, frame(2)), expected[2]);
  EXPECT_EQ(gst_harness_buffers_received(h), 2u) << "frame 1 was not dropped";

  GstBus *bus = watch(h);
  GstBuffer *cut = gst_buffer_new_memdup(pixels.data(), pixels.size() - 100);
  EXPECT_EQ(gst_harness_push(h, timestamped(cut, GST_SECOND)), GST_FLOW_ERROR);
  EXPECT_NE(bus_text(bus, GST_MESSAGE_ERROR).find("holds 3500 bytes"), std::string::npos);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

// Interlaced video is refused at negotiation (its fields would be blended), progressive taken.
TEST(Caps, EveryElementTakesProgressiveVideoOnly_n) {
  gst_init(nullptr, nullptr);
  GstCaps *interlaced =
      gst_caps_from_string("video/x-raw,format=RGB,width=32,height=24,interlace-mode=interleaved");
  GstCaps *progressive =
      gst_caps_from_string("video/x-raw,format=RGB,width=32,height=24,interlace-mode=progressive");
  GstCaps *unsaid = gst_caps_from_string("video/x-raw,format=RGB,width=32,height=24");
  for (const char *name : {"sapnetderain", "rainsim", "sapnetdetect", "sapnetsegment"}) {
    GstElement *e = gst_element_factory_make(name, nullptr);
    ASSERT_NE(e, nullptr) << name;
    for (const char *pad_name : {"sink", "src"}) {
      GstPad *pad = gst_element_get_static_pad(e, pad_name);
      GstCaps *templ = gst_pad_get_pad_template_caps(pad);
      EXPECT_FALSE(gst_caps_can_intersect(templ, interlaced)) << name << " " << pad_name;
      EXPECT_TRUE(gst_caps_can_intersect(templ, progressive)) << name << " " << pad_name;
      EXPECT_TRUE(gst_caps_can_intersect(templ, unsaid)) << name << " " << pad_name;
      gst_caps_unref(templ);
      gst_object_unref(pad);
    }
    gst_object_unref(e);
  }
  gst_caps_unref(interlaced);
  gst_caps_unref(progressive);
  gst_caps_unref(unsaid);
}

// Bytes of address space this process holds (VmSize).
size_t address_space_bytes() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
  return 0;
}

// Run in a child process: rainsim gets a 2000x2000 frame with the address space capped just above
// what the process holds, so the synthesizer's 48 MB of float planes cannot be allocated. Exits 0
// when that became an element error (and the flow an error), 1 otherwise; before exceptions were
// caught the bad_alloc went through GStreamer's C frames and aborted the process.
[[noreturn]] void rain_without_memory() {
  gst_init(nullptr, nullptr);
  GstHarness *h = gst_harness_new_parse("rainsim");
  GstBus *bus = watch(h);
  const int w = 2000, hgt = 2000;
  gst_harness_set_src_caps(h, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB",
                                                  "width", G_TYPE_INT, w, "height", G_TYPE_INT, hgt,
                                                  "framerate", GST_TYPE_FRACTION, 25, 1, nullptr));
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, w, hgt);
  GstBuffer *in = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  gst_buffer_memset(in, 0, 100, GST_VIDEO_INFO_SIZE(&info));
  rlimit limit{};
  getrlimit(RLIMIT_AS, &limit);
  limit.rlim_cur = address_space_bytes() + (16u << 20);
  if (setrlimit(RLIMIT_AS, &limit) != 0) std::_Exit(2);
  const GstFlowReturn ret = gst_harness_push(h, in);
  const std::string errors = bus_text(bus, GST_MESSAGE_ERROR);
  std::fprintf(stderr, "flow %s: %s\n", gst_flow_get_name(ret), errors.c_str());
  std::_Exit(ret == GST_FLOW_ERROR && !errors.empty() ? 0 : 1);
}

TEST(RainSimDeathTest, AnExceptionIsAnElementErrorNotACrash_n) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(rain_without_memory(), ::testing::ExitedWithCode(0), "Could not add rain");
}

TEST(FrameLimit, PassesExactlyNBuffersThenEndsTheStream) {
  gst_init(nullptr, nullptr);
  GstHarness *h = gst_harness_new_parse("framelimit frames=3");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=4,height=4,framerate=10/1");
  auto buffer = [&](int i) {
    GstBuffer *b = gst_harness_create_buffer(h, 48);
    GST_BUFFER_PTS(b) = i * 100 * GST_MSECOND;
    GST_BUFFER_DURATION(b) = 100 * GST_MSECOND;
    return b;
  };
  auto eos_events = [&] {
    int n = 0;
    while (GstEvent *e = gst_harness_try_pull_event(h)) {
      n += GST_EVENT_TYPE(e) == GST_EVENT_EOS;
      gst_event_unref(e);
    }
    return n;
  };
  EXPECT_EQ(gst_harness_push(h, buffer(0)), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_push(h, buffer(1)), GST_FLOW_OK);
  EXPECT_EQ(eos_events(), 0);
  EXPECT_EQ(gst_harness_push(h, buffer(2)), GST_FLOW_EOS);  // passed, and the stream ends now
  EXPECT_EQ(eos_events(), 1);
  EXPECT_EQ(gst_harness_push(h, buffer(3)), GST_FLOW_EOS);  // what a decoder drains later
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  EXPECT_EQ(eos_events(), 0);  // upstream's EOS is not a second one
  ASSERT_EQ(gst_harness_buffers_received(h), 3u);
  for (int i = 0; i < 3; ++i) {
    GstBuffer *b = gst_harness_pull(h);
    EXPECT_EQ(GST_BUFFER_PTS(b), i * 100 * GST_MSECOND);
    gst_buffer_unref(b);
  }
  // A flush starts the count again.
  gst_harness_push_event(h, gst_event_new_flush_start());
  gst_harness_push_event(h, gst_event_new_flush_stop(TRUE));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_harness_push_event(h, gst_event_new_segment(&segment));
  EXPECT_EQ(gst_harness_push(h, buffer(0)), GST_FLOW_OK);
  EXPECT_EQ(gst_harness_buffers_in_queue(h), 1u);
  gst_harness_teardown(h);
}

struct Sample {
  GstClockTime pts, duration;
};

// Runs `launch` (with a fakesink named "sink") to its end; returns what reached the sink and the
// duration the pipeline reported.
std::vector<Sample> run_to_sink(const std::string &launch, GstClockTime *duration = nullptr) {
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(launch.c_str(), &err);
  EXPECT_EQ(err, nullptr) << launch;
  if (err) g_error_free(err);
  if (!pipe) return {};
  std::vector<Sample> samples;
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  g_object_set(sink, "signal-handoffs", TRUE, "sync", FALSE, nullptr);
  g_signal_connect(sink, "handoff",
                   G_CALLBACK(+[](GstElement *, GstBuffer *b, GstPad *, gpointer data) {
                     static_cast<std::vector<Sample> *>(data)->push_back(
                         {GST_BUFFER_PTS(b), GST_BUFFER_DURATION(b)});
                   }),
                   &samples);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipe);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  EXPECT_TRUE(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) << launch;
  gint64 d = -1;
  if (duration) *duration = gst_element_query_duration(pipe, GST_FORMAT_TIME, &d) ? d : 0;
  if (m) gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  return samples;
}

// pipelines/demo.sh on 6 frames of vtest.avi (10 frames/s): each output holds exactly 6 frames,
// 100 ms apart and 100 ms long. Before framelimit the demo's identity eos-after let a frame from
// seconds later through: the last frame lasted 34 s in derained.mp4 and the compositor padded
// side-by-side.mp4 to 379 frames.
TEST(Demo, OutputsHoldExactlyTheProcessedFramesAtTheSourceRate) {
  gst_init(nullptr, nullptr);
  const char *src = std::getenv("SAPNET_SOURCE_DIR");
  if (!src) GTEST_SKIP() << "SAPNET_SOURCE_DIR unset (run through meson test)";
  const std::string video = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
  if (!std::ifstream(video)) GTEST_SKIP() << video << " is absent (apt-get install opencv-doc)";
  for (const char *f : {"x264enc", "mp4mux", "qtdemux", "compositor", "avidemux"})
    if (GstElementFactory *factory = gst_element_factory_find(f))
      gst_object_unref(factory);
    else
      GTEST_SKIP() << "no GStreamer element " << f;
  testing::TempDir dir;
  const int frames = 6;
  const std::string cmd = "SAPNET_NO_BUILD=1 bash \"" + std::string(src) +
                          "/pipelines/demo.sh\" --frames " + std::to_string(frames) +
                          " --width 64 --stages 1 --out \"" + dir.path() + "\" 2>&1";
  FILE *p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << output;
  const GstClockTime frame = 100 * GST_MSECOND;
  for (const char *name : {"derained.mp4", "side-by-side.mp4"}) {
    const std::string path = dir / name;
    GstClockTime total = 0;
    const auto samples =
        run_to_sink("filesrc location=\"" + path + "\" ! qtdemux ! fakesink name=sink", &total);
    ASSERT_EQ(samples.size(), size_t(frames)) << name << "\n" << output;
    for (int i = 0; i < frames; ++i) {
      EXPECT_EQ(samples[i].pts, i * frame) << name << " frame " << i;
      EXPECT_EQ(samples[i].duration, frame) << name << " frame " << i;
    }
    EXPECT_EQ(total, frames * frame) << name;
    if (GstElementFactory *f = gst_element_factory_find("avdec_h264")) {
      gst_object_unref(f);
      EXPECT_EQ(
          run_to_sink("filesrc location=\"" + path + "\" ! decodebin ! fakesink name=sink").size(),
          size_t(frames))
          << name;
    }
  }
}

}  // namespace
}  // namespace sapnet
