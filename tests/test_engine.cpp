// model::Engine: every frame layout, odd sizes, strides, early exit, buffer reuse, errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <random>

#include "engine.h"
#include "error.h"
#include "host_resources.h"
#include "model_file.h"
#include "sapnet.h"
#include "shared_data.h"
#include "tensor_frame.h"

namespace sapnet {
namespace {

constexpr const char *kOfficial = "weights/sapnet-official/Model11_net_latest.pth";

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::shared_path(kOfficial);
    if (path_.empty()) GTEST_SKIP() << "../shared/" << kOfficial << " is absent";
    EngineOptions opts;
    opts.model_path = path_;
    engine_ = std::make_unique<Engine>(opts);
  }

  static std::vector<uint8_t> random_rgb(int w, int h, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> px(size_t(w) * h * 3);
    for (auto &p : px) p = rng() % 256;
    return px;
  }

  // The reference: the network forward on the same floats, truncated as the authors' test.py.
  std::vector<uint8_t> reference(const std::vector<uint8_t> &rgb, int w, int h, int stages = 0) {
    auto m = load_model_file(path_);
    SAPNet net(m.network);
    load_weights(*net, m.weights);
    net->eval();
    torch::NoGradGuard g;
    auto x = torch::from_blob(const_cast<uint8_t *>(rgb.data()), {h, w, 3}, torch::kUInt8)
                 .permute({2, 0, 1})
                 .unsqueeze(0)
                 .to(torch::kFloat)
                 .div(255.0f);
    auto y = net->forward_stages(x, stages).back();
    auto out =
        (y.clamp(0, 1) * 255.0f).to(torch::kUInt8).squeeze(0).permute({1, 2, 0}).contiguous();
    return std::vector<uint8_t>(out.data_ptr<uint8_t>(), out.data_ptr<uint8_t>() + out.numel());
  }

  std::string path_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, RgbOutputEqualsTheNetworkForward) {
  const int w = 24, h = 17;
  auto in = random_rgb(w, h, 1);
  auto expected = reference(in, w, h);
  std::vector<uint8_t> out(in.size());
  engine_->process(FrameView::packed(PixelFormat::kRGB, in.data(), w, h),
                   FrameView::packed(PixelFormat::kRGB, out.data(), w, h));
  int off = 0;
  for (size_t i = 0; i < out.size(); ++i) off += std::abs(int(out[i]) - int(expected[i])) > 1;
  EXPECT_EQ(off, 0);
}

TEST_F(EngineTest, EveryPackedLayoutGivesTheSameImageWithPaddedStrides) {
  const int w = 33, h = 7;
  auto rgb = random_rgb(w, h, 2);
  std::vector<uint8_t> want(rgb.size());
  engine_->process(FrameView::packed(PixelFormat::kRGB, rgb.data(), w, h),
                   FrameView::packed(PixelFormat::kRGB, want.data(), w, h));
  struct L {
    PixelFormat f;
    int bpp, r, g, b;
  };
  for (L l : {L{PixelFormat::kBGR, 3, 2, 1, 0}, L{PixelFormat::kRGBA, 4, 0, 1, 2},
              L{PixelFormat::kBGRA, 4, 2, 1, 0}, L{PixelFormat::kRGBx, 4, 0, 1, 2},
              L{PixelFormat::kBGRx, 4, 2, 1, 0}}) {
    const int stride = w * l.bpp + 12;
    std::vector<uint8_t> frame(size_t(stride) * h, 200);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          frame[y * stride + x * l.bpp +
                (c == 0   ? l.r
                 : c == 1 ? l.g
                          : l.b)] = rgb[(y * w + x) * 3 + c];
    auto view = FrameView::packed(l.f, frame.data(), w, h, stride);
    engine_->process(view, view);  // in place
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const uint8_t *px = &frame[y * stride + x * l.bpp];
        ASSERT_EQ(px[l.r], want[(y * w + x) * 3 + 0]) << pixel_format_name(l.f);
        ASSERT_EQ(px[l.b], want[(y * w + x) * 3 + 2]) << pixel_format_name(l.f);
        if (l.bpp == 4) {
          ASSERT_EQ(px[3], 200) << "alpha/padding byte changed";
        }
      }
    EXPECT_EQ(frame[stride - 1], 200) << "row padding written";
  }
}

TEST_F(EngineTest, OddSizesIncludingOnePixel) {
  for (auto [w, h] : {std::pair{1, 1}, std::pair{1, 9}, std::pair{9, 1}, std::pair{5, 3}}) {
    auto in = random_rgb(w, h, 3);
    auto expected = reference(in, w, h);
    std::vector<uint8_t> out(in.size());
    engine_->process(FrameView::packed(PixelFormat::kRGB, in.data(), w, h),
                     FrameView::packed(PixelFormat::kRGB, out.data(), w, h));
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_LE(std::abs(int(out[i]) - int(expected[i])), 1) << w << "x" << h;
  }
}

TEST_F(EngineTest, EarlyExitRunsFewerStages) {
  const int w = 16, h = 12;
  auto in = random_rgb(w, h, 4);
  engine_->set_stages(2);
  EXPECT_EQ(engine_->stages(), 2);
  std::vector<uint8_t> out(in.size());
  engine_->process(FrameView::packed(PixelFormat::kRGB, in.data(), w, h),
                   FrameView::packed(PixelFormat::kRGB, out.data(), w, h));
  auto stage2 = reference(in, w, h, 2), stage6 = reference(in, w, h, 6);
  int off2 = 0;
  for (size_t i = 0; i < out.size(); ++i) off2 += std::abs(int(out[i]) - int(stage2[i])) > 1;
  EXPECT_EQ(off2, 0);
  EXPECT_NE(stage2, stage6);
  EXPECT_THROW(engine_->set_stages(7), Error);
}

TEST_F(EngineTest, StagingBuffersAreReusedForEqualSizes) {
  const int w = 20, h = 10;
  auto in = random_rgb(w, h, 5);
  std::vector<uint8_t> out(in.size());
  auto frame = [&] {
    engine_->process(FrameView::packed(PixelFormat::kRGB, in.data(), w, h),
                     FrameView::packed(PixelFormat::kRGB, out.data(), w, h));
  };
  frame();
  const void *first = engine_->staging_buffer();
  for (int i = 0; i < 5; ++i) frame();
  EXPECT_EQ(engine_->staging_buffer(), first);
}

TEST_F(EngineTest, TilesMeetWithoutSeams) {
  // A smooth image: tiles see the same content as the whole frame except near their borders, so the
  // tiled result stays close to the whole-frame one everywhere, with no step at tile boundaries.
  const int w = 70, h = 50;
  std::vector<float> in(3 * w * h), whole(in.size()), tiled(in.size());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        in[(c * h + y) * w + x] = 0.3f + 0.2f * std::sin(0.05f * x + 0.07f * y + c);
  engine_->set_stages(1);
  engine_->process_planar(in.data(), whole.data(), w, h);
  engine_->set_tiling(32, 8);
  engine_->process_planar(in.data(), tiled.data(), w, h);
  double worst = 0;
  for (size_t i = 0; i < in.size(); ++i)
    worst = std::max(worst, double(std::abs(whole[i] - tiled[i])));
  EXPECT_LT(worst, 0.05);
  EXPECT_GT(worst, 0.0);  // tiling did happen
  EXPECT_THROW(engine_->set_tiling(32, 16), Error);
  EXPECT_THROW(engine_->set_tiling(8, 0), Error);
}

// The rain score: the network's first-stage rain layer on the frame shrunk to 128 px. It is the
// mean absolute difference between the shrunk frame and that stage's output, in 8-bit levels, it
// grows with rain, and it reads every layout alike.
TEST_F(EngineTest, RainScoreIsTheFirstStagesRainLayerOnTheShrunkFrame) {
  const int w = 256, h = 192;  // shrunk 2x to 128x96
  std::vector<uint8_t> clean(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) clean[(size_t(y) * w + x) * 3 + c] = uint8_t(40 + x / 2 + c * 20);
  auto rainy = clean;
  for (int k = 0; k < 60; ++k)  // vertical bright streaks, 2 px wide, 24 long
    for (int y = (k * 37) % (h - 24), i = 0; i < 24; ++i)
      for (int dx = 0; dx < 2; ++dx)
        for (int c = 0; c < 3; ++c) {
          uint8_t &p = rainy[(size_t(y + i) * w + (k * 53) % (w - 2) + dx) * 3 + c];
          p = uint8_t(std::min(255, p + 120));
        }
  auto view = [&](std::vector<uint8_t> &px) {
    return FrameView::packed(PixelFormat::kRGB, px.data(), w, h);
  };
  const double dry = engine_->rain_score(view(clean)), wet = engine_->rain_score(view(rainy));
  EXPECT_GT(wet, 2 * dry);

  // The definition, by hand: 2x2 means, one stage, mean |x - stage 1| x 255.
  auto m = load_model_file(path_);
  SAPNet net(m.network);
  load_weights(*net, m.weights);
  net->eval();
  torch::NoGradGuard g;
  auto x = torch::from_blob(rainy.data(), {h, w, 3}, torch::kUInt8)
               .permute({2, 0, 1})
               .unsqueeze(0)
               .to(torch::kFloat)
               .div(255.0f);
  x = torch::avg_pool2d(x, 2);
  const double expected = (x - net->forward_stages(x, 1)[0]).abs().mean().item<double>() * 255;
  EXPECT_NEAR(wet, expected, 1e-3 * expected);

  // BGRx with padded rows reads the same pixels.
  std::vector<uint8_t> bgrx(size_t(w * 4 + 8) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        bgrx[size_t(y) * (w * 4 + 8) + x * 4 + (2 - c)] = rainy[(size_t(y) * w + x) * 3 + c];
  EXPECT_NEAR(
      engine_->rain_score(FrameView::packed(PixelFormat::kBGRx, bgrx.data(), w, h, w * 4 + 8)), wet,
      1e-4 * wet);
  // The early-exit setting does not change it.
  engine_->set_stages(2);
  EXPECT_DOUBLE_EQ(engine_->rain_score(view(rainy)), wet);
}

// The rain score runs one stage on the frame shrunk to 128 px, so its memory check counts that
// working set, not the whole frame's: an 8000x8000 frame was refused ("derain it in tiles") on any
// machine where the whole frame's network would not fit. A process() of that size afterwards is
// still checked for its own, larger need.
TEST_F(EngineTest, RainScoreOfAHugeFrameNeedsOnlyTheShrunkFramesMemory) {
  const int side = 8000;
  std::vector<uint8_t> in(size_t(side) * side * 3, 90), out(in.size());
  const auto frame = [&](std::vector<uint8_t> &px) {
    return FrameView::packed(PixelFormat::kRGB, px.data(), side, side);
  };
  double score = -1;
  EXPECT_NO_THROW(score = engine_->rain_score(frame(in)));
  EXPECT_GE(score, 0);
  // About 1600 bytes per pixel for the whole frame's network: beyond this machine unless it has
  // more than 100 GB free.
  if (available_memory_bytes() < 90e9) {
    EXPECT_THROW(engine_->process(frame(in), frame(out)), Error);
  }
}

TEST_F(EngineTest, FrameErrors_n) {
  uint8_t px[12] = {};
  EXPECT_THROW(engine_->process(FrameView::packed(PixelFormat::kRGB, px, 2, 2),
                                FrameView::packed(PixelFormat::kRGB, px, 1, 2)),
               Error);
  EXPECT_THROW(engine_->process(FrameView::packed(PixelFormat::kRGB, nullptr, 2, 2),
                                FrameView::packed(PixelFormat::kRGB, px, 2, 2)),
               Error);
}

TEST(EngineOptionsErrors, BadModelDeviceAndPrecision_n) {
  EngineOptions opts;
  opts.model_path = "/nonexistent/model.sapnet";
  try {
    Engine e(opts);
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.sapnet"), std::string::npos);
  }
  SAPNET_REQUIRE_SHARED(official, kOfficial);
  opts.model_path = official;
  opts.device = "tpu";
  EXPECT_THROW(Engine{opts}, Error);
  opts.device = "cpu";
  opts.precision = Precision::kFp16;
  EXPECT_THROW(Engine{opts}, Error);  // fp16 needs CUDA
  opts.precision = Precision::kBf16;
  EXPECT_THROW(Engine{opts}, Error);
  if (!cuda_available()) {
    opts.precision = Precision::kFp32;
    opts.device = "cuda";
    EXPECT_THROW(Engine{opts}, Error);
    opts.device = "auto";
    EXPECT_EQ(Engine{opts}.device(), "cpu");
  }
}

TEST(FusedGates, OneConvolutionComputesTheSameStages) {
  torch::manual_seed(3);
  SAPNet net(NetworkConfig::sapnet());
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 19, 23});
  auto separate = net->forward_stages(x);
  net->fuse_gates();
  ASSERT_TRUE(net->gates_fused());
  auto fused = net->forward_stages(x);
  ASSERT_EQ(separate.size(), fused.size());
  for (size_t t = 0; t < fused.size(); ++t)
    EXPECT_LT((separate[t] - fused[t]).abs().max().item<float>(), 1e-5) << "stage " << t + 1;
  // Loading other weights refreshes the fused copy: the output follows the new weights.
  SAPNet other(NetworkConfig::sapnet());
  load_weights(*net, weights_of(*other));
  auto reloaded = net->forward(x);
  EXPECT_LT((reloaded - other->forward(x)).abs().max().item<float>(), 1e-5);
  EXPECT_GT((reloaded - fused.back()).abs().max().item<float>(), 1e-3);
  // The parameters a checkpoint stores are unchanged by fusing.
  EXPECT_EQ(weights_of(*net).size(), weights_of(*other).size());
}

// Frames of every format in a random picture with padded strides (YUV planes too).
struct TestFrame {
  std::vector<uint8_t> bytes[3];
  FrameView view;
  TestFrame(PixelFormat f, int w, int h, unsigned seed) {
    std::mt19937 rng(seed);
    view.format = f;
    view.width = w;
    view.height = h;
    const int bpp = bytes_per_pixel(f), cw = (w + 1) / 2, ch = (h + 1) / 2;
    const int planes = bpp ? 1 : (f == PixelFormat::kNV12 ? 2 : 3);
    for (int p = 0; p < planes; ++p) {
      const int row = bpp ? w * bpp : p == 0 ? w : (planes == 2 ? 2 * cw : cw);
      const int rows = p == 0 ? h : ch;
      view.strides[p] = row + 5;
      bytes[p].resize(size_t(view.strides[p]) * rows);
      for (auto &b : bytes[p]) b = rng() % 256;
      view.planes[p] = bytes[p].data();
    }
  }
};

constexpr PixelFormat kAllFormats[] = {PixelFormat::kRGB,  PixelFormat::kBGR,  PixelFormat::kRGBA,
                                       PixelFormat::kBGRA, PixelFormat::kRGBx, PixelFormat::kBGRx,
                                       PixelFormat::kNV12, PixelFormat::kI420};

// The CUDA path converts compact copies of the frame; the CPU path the frame's own strided memory.
// Both are the same tensor code, so they must agree exactly, for every format.
TEST(TensorFrame, CompactAndStridedPlanesDecodeAndEncodeAlike) {
  const Colorimetry bt709_full{YuvMatrix::kBT709, YuvRange::kFull};
  for (PixelFormat f : kAllFormats)
    for (auto [w, h] : {std::pair{33, 7}, std::pair{1, 1}, std::pair{5, 3}}) {
      TestFrame frame(f, w, h, 7);
      frame.view.colorimetry = bt709_full;
      std::vector<uint8_t> compact(compact_frame_size(f, w, h));
      copy_to_compact(frame.view, compact.data());
      auto bytes = torch::from_blob(compact.data(), {int64_t(compact.size())}, torch::kUInt8);
      auto strided = torch::empty({1, 3, h, w});
      auto packed = torch::empty(
          {1, 3, h, w}, torch::TensorOptions().memory_format(torch::MemoryFormat::ChannelsLast));
      decode_frame(frame_planes(frame.view), strided);
      decode_frame(compact_planes(bytes, f, w, h, bt709_full), packed);
      EXPECT_TRUE(torch::equal(strided, packed)) << pixel_format_name(f) << " " << w << "x" << h;
      EXPECT_GE(strided.min().item<float>(), 0.0f);
      EXPECT_LE(strided.max().item<float>(), 1.0f);

      torch::manual_seed(11);
      auto rgb = torch::rand({1, 3, h, w}) * 1.2 - 0.1;  // some values outside [0, 1]
      TestFrame want(f, w, h, 1);
      want.view.colorimetry = bt709_full;
      encode_frame(rgb, frame_planes(want.view));
      encode_frame(rgb, compact_planes(bytes, f, w, h, bt709_full));
      TestFrame got(f, w, h, 1);  // the same padding and alpha bytes as `want` had
      copy_from_compact(compact.data(), got.view);
      for (int p = 0; p < 3; ++p)
        EXPECT_EQ(want.bytes[p], got.bytes[p]) << pixel_format_name(f) << " plane " << p;
    }
}

// Alpha goes through the one conversion: a 4-byte output gets the 4-byte input's fourth byte,
// whatever its own was; from a 3-byte input, the output's fourth byte stays.
TEST(TensorFrame, EncodingCarriesAlphaFromTheInput) {
  TestFrame in(PixelFormat::kBGRA, 9, 4, 3), out(PixelFormat::kRGBA, 9, 4, 4);
  const auto out_before = out.bytes[0];
  auto rgb = torch::rand({1, 3, 4, 9});
  const FramePlanes in_planes = frame_planes(in.view);
  encode_frame(rgb, frame_planes(out.view), &in_planes);
  int carried = 0, differed = 0;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 9; ++x) {
      const size_t i = size_t(y) * in.view.strides[0] + 4 * x + 3;
      const size_t o = size_t(y) * out.view.strides[0] + 4 * x + 3;
      carried += out.bytes[0][o] == in.bytes[0][i];
      differed += out_before[o] != in.bytes[0][i];
    }
  EXPECT_EQ(carried, 36);
  EXPECT_GT(differed, 30);  // the test can tell
  TestFrame rgb_in(PixelFormat::kRGB, 9, 4, 3), kept(PixelFormat::kRGBx, 9, 4, 4);
  const FramePlanes rgb_planes = frame_planes(rgb_in.view);
  encode_frame(rgb, frame_planes(kept.view), &rgb_planes);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 9; ++x) {
      const size_t o = size_t(y) * kept.view.strides[0] + 4 * x + 3;
      ASSERT_EQ(kept.bytes[0][o], out_before[o]);
    }
}

TEST(TensorFrame, CompactCopiesKeepAlphaAndPadding) {
  TestFrame frame(PixelFormat::kBGRA, 9, 4, 5);
  const auto before = frame.bytes[0];
  std::vector<uint8_t> compact(compact_frame_size(PixelFormat::kBGRA, 9, 4));
  copy_to_compact(frame.view, compact.data());
  for (auto &b : compact) b = 255 - b;
  copy_from_compact(compact.data(), frame.view);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < frame.view.strides[0]; ++x) {
      const size_t i = size_t(y) * frame.view.strides[0] + x;
      const bool colour = x < 9 * 4 && x % 4 != 3;
      ASSERT_EQ(frame.bytes[0][i], colour ? 255 - before[i] : before[i]) << y << "," << x;
    }
  // Asked to, the fourth byte comes along too (never the row padding).
  copy_from_compact(compact.data(), frame.view, /*fourth_byte=*/true);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < frame.view.strides[0]; ++x) {
      const size_t i = size_t(y) * frame.view.strides[0] + x;
      ASSERT_EQ(frame.bytes[0][i], x < 9 * 4 ? 255 - before[i] : before[i]) << y << "," << x;
    }
}

TEST_F(EngineTest, AlphaIsCarriedIntoASeparateOutput) {
  TestFrame in(PixelFormat::kRGBA, 12, 5, 21), out(PixelFormat::kBGRA, 12, 5, 22);
  engine_->set_stages(1);
  engine_->process(in.view, out.view);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 12; ++x)
      ASSERT_EQ(out.bytes[0][size_t(y) * out.view.strides[0] + 4 * x + 3],
                in.bytes[0][size_t(y) * in.view.strides[0] + 4 * x + 3])
          << x << "," << y;
}

// Each frame is read with its own colorimetry and written with the output's: the Engine equals
// decoding, the network on planar floats, and encoding, each with the frame's own colorimetry.
TEST_F(EngineTest, ColorimetryOfEachFrameIsFollowed) {
  const int w = 16, h = 8;
  engine_->set_stages(1);
  const Colorimetry bt709_full{YuvMatrix::kBT709, YuvRange::kFull};
  TestFrame in(PixelFormat::kNV12, w, h, 31);
  TestFrame as601(PixelFormat::kRGB, w, h, 1), as709(PixelFormat::kRGB, w, h, 1);
  engine_->process(in.view, as601.view);
  in.view.colorimetry = bt709_full;
  engine_->process(in.view, as709.view);
  EXPECT_NE(as601.bytes[0], as709.bytes[0]);

  std::vector<float> planar(size_t(3) * w * h), derained(planar.size());
  frame_to_planar_rgb(in.view, planar.data());
  engine_->process_planar(planar.data(), derained.data(), w, h);
  TestFrame want(PixelFormat::kRGB, w, h, 1);
  planar_rgb_to_frame(derained.data(), want.view);
  EXPECT_EQ(as709.bytes[0], want.bytes[0]);

  // Out: RGB in, BT.709 full-range NV12 out.
  TestFrame out(PixelFormat::kNV12, w, h, 2), want_yuv(PixelFormat::kNV12, w, h, 2);
  out.view.colorimetry = want_yuv.view.colorimetry = bt709_full;
  engine_->process(as601.view, out.view);
  frame_to_planar_rgb(as601.view, planar.data());
  engine_->process_planar(planar.data(), derained.data(), w, h);
  planar_rgb_to_frame(derained.data(), want_yuv.view);
  for (int p = 0; p < 2; ++p) EXPECT_EQ(out.bytes[p], want_yuv.bytes[p]) << "plane " << p;
}

// An Engine's thread count applies to its own work only: constructing and running one leaves the
// caller's LibTorch thread count as it was. The default is every core the process may use.
TEST_F(EngineTest, ThreadsAreTheEnginesOwnNotTheProcesss) {
  EXPECT_EQ(engine_->threads(), usable_cpu_cores());
  const int before = torch::get_num_threads();
  const int other = before == 1 ? 2 : 1;
  torch::set_num_threads(other);
  EngineOptions opts;
  opts.model_path = path_;
  opts.threads = other == 1 ? 3 : 1;
  Engine e(opts);
  EXPECT_EQ(e.threads(), opts.threads);
  EXPECT_EQ(torch::get_num_threads(), other);
  auto in = random_rgb(8, 8, 1);
  std::vector<uint8_t> out(in.size());
  e.process(FrameView::packed(PixelFormat::kRGB, in.data(), 8, 8),
            FrameView::packed(PixelFormat::kRGB, out.data(), 8, 8));
  EXPECT_EQ(torch::get_num_threads(), other);
  EXPECT_NE(e.device_name().find(std::to_string(opts.threads) + " threads"), std::string::npos);
  torch::set_num_threads(before);
}

TEST(SharedWeights, TheLastEngineReleasesTheNetwork) {
  SAPNET_REQUIRE_SHARED(official, kOfficial);
  const int before = shared_network_count();
  EngineOptions opts;
  opts.model_path = official;
  {
    auto a = std::make_unique<Engine>(opts);
    auto b = std::make_unique<Engine>(opts);
    EXPECT_EQ(shared_network_count(), before + 1);
    a.reset();
    EXPECT_EQ(shared_network_count(), before + 1);  // b still holds it
  }
  EXPECT_EQ(shared_network_count(), before);
}

TEST(SharedWeights, EnginesOfOneFileShareOneNetwork) {
  SAPNET_REQUIRE_SHARED(official, kOfficial);
  EngineOptions opts;
  opts.model_path = official;
  Engine a(opts), b(opts);
  EXPECT_EQ(a.weights_id(), b.weights_id());
  b.set_stages(2);  // per-engine settings stay per engine
  EXPECT_EQ(a.stages(), 6);
  // Another file, or the same path rewritten, gets its own copy.
  testing::TempDir dir;
  const auto copy = dir / "copy.pth";
  std::filesystem::copy_file(official, copy);
  opts.model_path = copy;
  Engine c(opts);
  EXPECT_NE(c.weights_id(), a.weights_id());
  EXPECT_EQ(Engine(opts).weights_id(), c.weights_id());
  std::filesystem::last_write_time(
      copy, std::filesystem::last_write_time(copy) + std::chrono::seconds(5));
  EXPECT_NE(Engine(opts).weights_id(), c.weights_id());
  EXPECT_EQ(a.peak_device_memory(), 0u);  // CPU
}

// A CUDA frame against the CPU engine's: a 4-byte input's fourth byte (alpha or padding) carried
// over exactly, and the colour planes within `max_mean_diff` levels on average.
void expect_matches_cpu_frame(const TestFrame &in, const TestFrame &want, const TestFrame &got,
                              double max_mean_diff, const std::string &what) {
  const FrameView &v = in.view;
  if (bytes_per_pixel(v.format) == 4)
    for (int y = 0; y < v.height; ++y)
      for (int x = 0; x < v.width; ++x) {
        const size_t i = size_t(y) * v.strides[0] + 4 * x + 3;
        ASSERT_EQ(got.bytes[0][i], in.bytes[0][i]) << what << ": alpha at " << x << "," << y;
      }
  double sum = 0;
  size_t n = 0;
  for (int p = 0; p < 3; ++p)
    for (size_t i = 0; i < want.bytes[p].size(); ++i, ++n)
      sum += std::abs(int(want.bytes[p][i]) - int(got.bytes[p][i]));
  EXPECT_LT(sum / n, max_mean_diff) << what;
}

// The CUDA path: needs a CUDA build and a GPU; skips cleanly otherwise.
TEST(CudaEngine, Fp16FramesMatchTheCpuFp32Engine) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU (or a CPU-only LibTorch build)";
  SAPNET_REQUIRE_SHARED(official, kOfficial);
  EngineOptions cpu_opts;
  cpu_opts.model_path = official;
  Engine cpu(cpu_opts);
  const bool benchmark = at::globalContext().benchmarkCuDNN();
  for (Precision precision : {Precision::kFp32, Precision::kFp16, Precision::kBf16}) {
    EngineOptions opts = cpu_opts;
    opts.device = "cuda";
    opts.precision = precision;
    Engine gpu(opts);
    EXPECT_EQ(gpu.device(), "cuda:0");
    for (PixelFormat f :
         {PixelFormat::kRGB, PixelFormat::kBGRx, PixelFormat::kRGBA, PixelFormat::kNV12}) {
      // The outputs start from another seed than the input, so their alpha differs from the
      // input's until the Engine carries it over.
      TestFrame in(f, 64, 36, 9), want(f, 64, 36, 10), got(f, 64, 36, 10);
      cpu.process(in.view, want.view);
      gpu.process(in.view, got.view);
      const void *staging = gpu.staging_buffer();
      gpu.process(in.view, got.view);  // the graph replays into the same buffers
      EXPECT_EQ(gpu.staging_buffer(), staging);
      expect_matches_cpu_frame(in, want, got, precision == Precision::kFp32 ? 0.05 : 1.0,
                               std::string(precision_name(precision)) + " " + pixel_format_name(f));
    }
    EXPECT_GT(gpu.peak_device_memory(), 0u);
  }
  // cuDNN's benchmark mode was on only while plans warmed up.
  EXPECT_EQ(at::globalContext().benchmarkCuDNN(), benchmark);
}

// One CUDA Engine through all eight formats at an even size, then odd sizes (YUV chroma rounded
// up), then the first size again: each new size is a renegotiation (new buffers and CUDA graph),
// and every frame still matches the CPU engine, alpha carried over from the input.
TEST(CudaEngine, EveryFormatAndOddSizesAcrossRenegotiationMatchTheCpuEngine) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU (or a CPU-only LibTorch build)";
  SAPNET_REQUIRE_SHARED(official, kOfficial);
  EngineOptions cpu_opts;
  cpu_opts.model_path = official;
  Engine cpu(cpu_opts);
  EngineOptions opts = cpu_opts;
  opts.device = "cuda";
  opts.precision = Precision::kFp16;
  Engine gpu(opts);
  for (auto [w, h] : {std::pair{64, 36}, std::pair{33, 17}, std::pair{1, 1}, std::pair{64, 36}})
    for (PixelFormat f : kAllFormats) {
      TestFrame in(f, w, h, 11), want(f, w, h, 12), got(f, w, h, 12);
      cpu.process(in.view, want.view);
      gpu.process(in.view, got.view);
      expect_matches_cpu_frame(
          in, want, got, 1.0,
          std::string(pixel_format_name(f)) + " " + std::to_string(w) + "x" + std::to_string(h));
    }
}

}  // namespace
}  // namespace sapnet
