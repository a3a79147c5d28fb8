// sapnetderain on GStreamer's CUDA memory (built only with gstreamer-cuda-1.0 and a CUDA LibTorch).
// Everywhere: the caps templates offer memory:CUDAMemory for the six formats besides system memory,
// and where CUDA memory cannot be used (device=cpu, no driver) the pads offer system memory only.
// Where a GPU and nvcodec's cudaupload/cudadownload are (tests/gpu/device-check.sh cudamem):
// `cudaupload ! sapnetderain ! cudadownload` equals the system-memory element within 1 level per
// format, in place (frames-in-cuda-memory), and mixed memories are copied, never wrong.
#define GST_USE_UNSTABLE_API 1
#include <gst/check/gstharness.h>
#include <gst/cuda/gstcudaloader.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "engine.h"
#include "gst_frames.h"

namespace sapnet {
namespace {

const std::set<std::string> kCudaFormats = {"NV12", "I420", "RGBA", "BGRA", "RGBx", "BGRx"};
const std::set<std::string> kSystemFormats = {"RGB",  "BGR",  "RGBA", "BGRA",
                                              "RGBx", "BGRx", "NV12", "I420"};

bool is_cuda(GstCaps *caps, guint i) {
  GstCapsFeatures *f = gst_caps_get_features(caps, i);
  return f && gst_caps_features_contains(f, "memory:CUDAMemory");
}

std::set<std::string> formats_of(const GstStructure *s) {
  std::set<std::string> out;
  const GValue *v = gst_structure_get_value(s, "format");
  if (!v) return out;
  if (G_VALUE_HOLDS_STRING(v)) {
    out.insert(g_value_get_string(v));
  } else if (GST_VALUE_HOLDS_LIST(v)) {
    for (guint i = 0; i < gst_value_list_get_size(v); ++i)
      out.insert(g_value_get_string(gst_value_list_get_value(v, i)));
  }
  return out;
}

bool has_cuda_memory(GstCaps *caps) {
  for (guint i = 0; i < gst_caps_get_size(caps); ++i)
    if (is_cuda(caps, i)) return true;
  return false;
}

// Why the CUDA-memory pipelines cannot run here ("" when they can).
std::string no_gpu_reason() {
  if (!gst_cuda_load_library())
    return "no CUDA driver here: GStreamer's CUDA library cannot load libcuda.so.1 (these "
           "pipelines run on a GPU machine: tests/gpu/device-check.sh cudamem)";
  for (const char *name : {"cudaupload", "cudadownload"}) {
    GstElementFactory *f = gst_element_factory_find(name);
    if (!f)
      return std::string("no ") + name +
             " element (gstreamer1.0-plugins-bad's nvcodec registers it only with a CUDA driver "
             "and a GPU)";
    gst_object_unref(f);
  }
  return "";
}

class GstCuda : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }

  // The bundled model: no data from ../shared is needed (the GPU machine has the repository).
  void SetUp() override {
    try {
      model_ = default_model_path();
    } catch (const std::exception &e) {
      GTEST_SKIP() << e.what();
    }
  }

  std::string element(const std::string &props = "") const {
    return "sapnetderain model-location=\"" + model_ + "\" stages=2 precision=fp32 " + props;
  }

  std::string model_;
};

TEST(GstCudaCaps, TemplatesOfferCudaMemoryForSixFormatsBesideSystemMemory) {
  gst_init(nullptr, nullptr);
  GstElementFactory *factory = gst_element_factory_find("sapnetderain");
  ASSERT_NE(factory, nullptr) << "sapnetderain not found (GST_PLUGIN_PATH)";
  int templates = 0;
  for (const GList *l = gst_element_factory_get_static_pad_templates(factory); l; l = l->next) {
    auto *t = static_cast<GstStaticPadTemplate *>(l->data);
    GstCaps *caps = gst_static_caps_get(&t->static_caps);
    ++templates;
    std::set<std::string> cuda, system;
    for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
      const auto f = formats_of(gst_caps_get_structure(caps, i));
      (is_cuda(caps, i) ? cuda : system).insert(f.begin(), f.end());
    }
    EXPECT_EQ(cuda, kCudaFormats) << t->name_template;
    EXPECT_EQ(system, kSystemFormats) << t->name_template;
    // CUDA memory first: preferred where both neighbours offer it.
    EXPECT_TRUE(is_cuda(caps, 0)) << t->name_template;
    gst_caps_unref(caps);
  }
  EXPECT_EQ(templates, 2);
  gst_object_unref(factory);
}

// GStreamer's CUDA memory lays I420 out with the V plane height / 2 rows after U: at an odd height
// the two share a row. The templates take CUDA-memory I420 at even heights only; system memory
// and the other formats at any height.
TEST(GstCudaCaps, CudaMemoryI420OnlyAtEvenHeights) {
  gst_init(nullptr, nullptr);
  GstElementFactory *factory = gst_element_factory_find("sapnetderain");
  ASSERT_NE(factory, nullptr) << "sapnetderain not found (GST_PLUGIN_PATH)";
  GstCaps *templ = nullptr;
  for (const GList *l = gst_element_factory_get_static_pad_templates(factory); l; l = l->next) {
    auto *t = static_cast<GstStaticPadTemplate *>(l->data);
    if (t->direction == GST_PAD_SINK) templ = gst_static_caps_get(&t->static_caps);
  }
  gst_object_unref(factory);
  ASSERT_NE(templ, nullptr);
  auto accepts = [&](const char *memory, const char *format, int height) {
    GstCaps *c =
        gst_caps_from_string((std::string("video/x-raw") + memory + ",format=" + format +
                              ",width=161,height=" + std::to_string(height) + ",framerate=25/1")
                                 .c_str());
    const bool ok = gst_caps_can_intersect(c, templ);
    gst_caps_unref(c);
    return ok;
  };
  EXPECT_TRUE(accepts("(memory:CUDAMemory)", "I420", 98));
  EXPECT_FALSE(accepts("(memory:CUDAMemory)", "I420", 97));
  EXPECT_TRUE(accepts("(memory:CUDAMemory)", "NV12", 97));
  EXPECT_TRUE(accepts("", "I420", 97));
  gst_caps_unref(templ);
}

// What the element's sink pad accepts, as a caps query answers it.
GstCaps *sink_caps(const std::string &description) {
  GstHarness *h = gst_harness_new_parse(description.c_str());
  GstPad *sink = gst_element_get_static_pad(h->element, "sink");
  GstCaps *caps = gst_pad_query_caps(sink, nullptr);
  gst_object_unref(sink);
  gst_harness_teardown(h);
  return caps;
}

TEST_F(GstCuda, OnTheCpuThePadsOfferSystemMemoryOnly) {
  GstCaps *caps = sink_caps(element("device=cpu"));
  EXPECT_FALSE(has_cuda_memory(caps)) << caps;
  EXPECT_FALSE(gst_caps_is_empty(caps));
  gst_caps_unref(caps);
}

TEST_F(GstCuda, CudaMemoryIsOfferedExactlyWhereItCanBeUsed) {
  GstCaps *caps = sink_caps(element("device=auto"));
  const bool driver = gst_cuda_load_library();
  EXPECT_EQ(has_cuda_memory(caps), driver) << caps;
  gst_caps_unref(caps);
  if (!driver) GTEST_SKIP() << "checked that CUDA memory is not offered; " << no_gpu_reason();
}

// The largest difference between two frames' visible bytes (each with its own strides).
int max_difference(GstBuffer *a, GstBuffer *b, const GstVideoInfo &info) {
  GstVideoFrame fa, fb;
  EXPECT_TRUE(gst_video_frame_map(&fa, &info, a, GST_MAP_READ));
  EXPECT_TRUE(gst_video_frame_map(&fb, &info, b, GST_MAP_READ));
  int most = 0;
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&fa); ++p) {
    const int rows = GST_VIDEO_FRAME_COMP_HEIGHT(&fa, p);
    const int bytes = GST_VIDEO_FRAME_COMP_WIDTH(&fa, p) * GST_VIDEO_FRAME_COMP_PSTRIDE(&fa, p);
    for (int y = 0; y < rows; ++y) {
      auto *ra = static_cast<const uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&fa, p)) +
                 y * GST_VIDEO_FRAME_PLANE_STRIDE(&fa, p);
      auto *rb = static_cast<const uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&fb, p)) +
                 y * GST_VIDEO_FRAME_PLANE_STRIDE(&fb, p);
      for (int x = 0; x < bytes; ++x) most = std::max(most, std::abs(int(ra[x]) - int(rb[x])));
    }
  }
  gst_video_frame_unmap(&fa);
  gst_video_frame_unmap(&fb);
  return most;
}

guint64 frames_in_cuda_memory(GstHarness *h) {
  GstElement *e = gst_harness_find_element(h, "sapnetderain");
  GstStructure *stats = nullptr;
  g_object_get(e, "stats", &stats, nullptr);
  guint64 n = 0;
  if (stats) {
    gst_structure_get_uint64(stats, "frames-in-cuda-memory", &n);
    gst_structure_free(stats);
  }
  gst_object_unref(e);
  return n;
}

// Pushes the same frames through `description` and through the element in system memory;
// returns the largest difference and the frames the tested pipeline derained in CUDA memory.
void compare(const std::string &description, const std::string &reference, const char *format,
             int width, int height, int *most, guint64 *in_place) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, gst_video_format_from_string(format), width, height);
  GstCaps *caps = gst_video_info_to_caps(&info);
  GstHarness *tested = gst_harness_new_parse(description.c_str());
  GstHarness *ref = gst_harness_new_parse(reference.c_str());
  ASSERT_NE(tested, nullptr) << description;
  ASSERT_NE(ref, nullptr) << reference;
  gst_harness_set_src_caps(tested, gst_caps_ref(caps));
  gst_harness_set_src_caps(ref, caps);
  *most = 0;
  for (unsigned i = 0; i < 3; ++i) {
    GstBuffer *frame = testing::random_video_buffer(info, 7 + i);
    ASSERT_EQ(gst_harness_push(ref, gst_buffer_ref(frame)), GST_FLOW_OK);
    ASSERT_EQ(gst_harness_push(tested, frame), GST_FLOW_OK) << description;
    GstBuffer *a = gst_harness_pull(tested);
    GstBuffer *b = gst_harness_pull(ref);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    *most = std::max(*most, max_difference(a, b, info));
    gst_buffer_unref(a);
    gst_buffer_unref(b);
  }
  *in_place = frames_in_cuda_memory(tested);
  gst_harness_teardown(tested);
  gst_harness_teardown(ref);
}

TEST_F(GstCuda, CudaUploadDerainDownloadEqualsSystemMemoryPerFormat) {
  if (const std::string why = no_gpu_reason(); !why.empty()) GTEST_SKIP() << why;
  const std::string derain = element("device=cuda");
  for (const std::string &format : kCudaFormats) {
    SCOPED_TRACE(format);
    int most = 0;
    guint64 in_place = 0;
    // An odd width; the height even, as CUDA-memory I420 needs (see the caps test above).
    compare("cudaupload ! video/x-raw(memory:CUDAMemory) ! " + derain +
                " ! video/x-raw(memory:CUDAMemory) ! cudadownload",
            derain, format.c_str(), 161, 98, &most, &in_place);
    EXPECT_LE(most, 1);
    EXPECT_EQ(in_place, 3u) << "frames were copied instead of derained in CUDA memory";
    std::printf(
        "%s: CUDA memory vs system memory, largest difference %d level(s), %d of 3 "
        "frames in place\n",
        format.c_str(), most, int(in_place));
  }
}

TEST_F(GstCuda, MixedMemoryPadsAreCopiedNotWrong) {
  if (const std::string why = no_gpu_reason(); !why.empty()) GTEST_SKIP() << why;
  const std::string derain = element("device=cuda");
  int most = 0;
  guint64 in_place = 0;
  // CUDA memory in, system memory out (a downstream neighbour without CUDA).
  compare(
      "cudaupload ! video/x-raw(memory:CUDAMemory) ! " + derain + " ! capsfilter caps=video/x-raw",
      derain, "NV12", 64, 48, &most, &in_place);
  EXPECT_LE(most, 1);
  EXPECT_EQ(in_place, 0u);
  // System memory in, CUDA memory out.
  compare(derain + " ! video/x-raw(memory:CUDAMemory) ! cudadownload", derain, "RGBA", 64, 48,
          &most, &in_place);
  EXPECT_LE(most, 1);
  EXPECT_EQ(in_place, 0u);
  // Mixed memories and enabled=false: the frame is copied across, untouched.
  compare("cudaupload ! video/x-raw(memory:CUDAMemory) ! " + element("device=cuda enabled=false") +
              " ! capsfilter caps=video/x-raw",
          "identity", "BGRx", 64, 48, &most, &in_place);
  EXPECT_EQ(most, 0);
}

}  // namespace
}  // namespace sapnet
