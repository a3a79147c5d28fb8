// Pixel layouts to planar RGB and back (the thin planar API over tensor_frame, the one colour
// conversion), and YUV colorimetry: BT.601/BT.709, limited/full range, against reference values.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "error.h"
#include "frame.h"

namespace sapnet {
namespace {

struct PackedCase {
  PixelFormat format;
  int r, g, b, bpp;
};

class PackedFormats : public ::testing::TestWithParam<PackedCase> {};

TEST_P(PackedFormats, ChannelsLandInTheirPlanes) {
  const auto c = GetParam();
  const int w = 3, h = 2, stride = w * c.bpp + 5;  // padded rows
  std::vector<uint8_t> data(size_t(stride) * h, 77);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t *px = &data[y * stride + x * c.bpp];
      px[c.r] = 10 * (y * w + x);
      px[c.g] = 100 + y * w + x;
      px[c.b] = 255 - (y * w + x);
    }
  std::vector<float> planar(3 * w * h);
  frame_to_planar_rgb(FrameView::packed(c.format, data.data(), w, h, stride), planar.data());
  for (int i = 0; i < w * h; ++i) {
    EXPECT_FLOAT_EQ(planar[i], 10.0f * i / 255.0f);
    EXPECT_FLOAT_EQ(planar[w * h + i], (100.0f + i) / 255.0f);
    EXPECT_FLOAT_EQ(planar[2 * w * h + i], (255.0f - i) / 255.0f);
  }
  std::vector<uint8_t> back(data.size(), 77);
  planar_rgb_to_frame(planar.data(), FrameView::packed(c.format, back.data(), w, h, stride));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w * c.bpp; ++x) {
      const bool colour = x % c.bpp == c.r || x % c.bpp == c.g || x % c.bpp == c.b;
      // Colour bytes round-trip exactly; alpha and row padding stay untouched.
      EXPECT_EQ(back[y * stride + x], colour ? data[y * stride + x] : 77)
          << "byte " << x << " row " << y;
    }
  EXPECT_EQ(back[stride - 1], 77);
}

INSTANTIATE_TEST_SUITE_P(AllPacked, PackedFormats,
                         ::testing::Values(PackedCase{PixelFormat::kRGB, 0, 1, 2, 3},
                                           PackedCase{PixelFormat::kBGR, 2, 1, 0, 3},
                                           PackedCase{PixelFormat::kRGBA, 0, 1, 2, 4},
                                           PackedCase{PixelFormat::kBGRA, 2, 1, 0, 4},
                                           PackedCase{PixelFormat::kRGBx, 0, 1, 2, 4},
                                           PackedCase{PixelFormat::kBGRx, 2, 1, 0, 4}));

TEST(FrameOutput, TruncatesAndClampsLikeTheAuthorsTestScript) {
  const float planar[3] = {0.99999f, -0.3f, 1.7f};  // 1x1 image: r, g, b
  uint8_t px[3];
  planar_rgb_to_frame(planar, FrameView::packed(PixelFormat::kRGB, px, 1, 1));
  EXPECT_EQ(px[0], 254);  // 254.997 truncates
  EXPECT_EQ(px[1], 0);
  EXPECT_EQ(px[2], 255);
}

TEST(FrameYuv, GreyRoundTripsThroughI420AndNV12) {
  for (auto format : {PixelFormat::kI420, PixelFormat::kNV12}) {
    const int w = 5, h = 3, cw = 3, ch = 2;
    std::vector<uint8_t> y(w * h), u(cw * ch, 128), v(cw * ch, 128), uv(2 * cw * ch, 128);
    for (int i = 0; i < w * h; ++i) y[i] = 16 + 15 * i;
    FrameView f;
    f.format = format;
    f.width = w;
    f.height = h;
    f.planes[0] = y.data();
    f.strides[0] = w;
    if (format == PixelFormat::kI420) {
      f.planes[1] = u.data(), f.planes[2] = v.data(), f.strides[1] = f.strides[2] = cw;
    } else {
      f.planes[1] = uv.data(), f.strides[1] = 2 * cw;
    }
    check_frame(f, "test");
    std::vector<float> planar(3 * w * h);
    frame_to_planar_rgb(f, planar.data());
    for (int i = 0; i < w * h; ++i) {  // grey: r == g == b
      EXPECT_NEAR(planar[i], planar[w * h + i], 1e-5);
      EXPECT_NEAR(planar[i], planar[2 * w * h + i], 1e-5);
    }
    const auto y0 = y;
    planar_rgb_to_frame(planar.data(), f);
    for (int i = 0; i < w * h; ++i)
      EXPECT_NEAR(y[i], y0[i], 1) << pixel_format_name(format) << " pixel " << i;
  }
}

// A w x h I420 or NV12 frame with its own planes (no padding).
struct YuvFrame {
  std::vector<uint8_t> y, c1, c2;
  FrameView view;
  YuvFrame(PixelFormat format, int w, int h, Colorimetry colorimetry) {
    const int cw = (w + 1) / 2, ch = (h + 1) / 2;
    const bool nv12 = format == PixelFormat::kNV12;
    y.assign(size_t(w) * h, 0);
    c1.assign(size_t(cw) * ch * (nv12 ? 2 : 1), 0);
    c2.assign(nv12 ? 0 : size_t(cw) * ch, 0);
    view.format = format;
    view.width = w;
    view.height = h;
    view.colorimetry = colorimetry;
    view.planes[0] = y.data();
    view.strides[0] = w;
    view.planes[1] = c1.data();
    view.strides[1] = nv12 ? 2 * cw : cw;
    view.planes[2] = nv12 ? nullptr : c2.data();
    view.strides[2] = nv12 ? 0 : cw;
  }
  int u(int i) const { return view.format == PixelFormat::kNV12 ? c1[2 * i] : c1[i]; }
  int v(int i) const { return view.format == PixelFormat::kNV12 ? c1[2 * i + 1] : c2[i]; }
};

struct ColorimetryCase {
  Colorimetry colorimetry;
  // Y, U, V of red, green, blue, white and black (the ITU-R formulas, rounded).
  int yuv[5][3];
};

class Colorimetries : public ::testing::TestWithParam<ColorimetryCase> {};

constexpr float kPrimaries[5][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}, {0, 0, 0}};

TEST_P(Colorimetries, PrimariesEncodeToTheReferenceValues) {
  const auto c = GetParam();
  for (auto format : {PixelFormat::kI420, PixelFormat::kNV12})
    for (int k = 0; k < 5; ++k) {
      YuvFrame f(format, 2, 2, c.colorimetry);
      std::vector<float> planar(12);
      for (int ch = 0; ch < 3; ++ch) std::fill_n(&planar[ch * 4], 4, kPrimaries[k][ch]);
      planar_rgb_to_frame(planar.data(), f.view);
      const std::string what = std::string(colorimetry_name(c.colorimetry)) + " " +
                               pixel_format_name(format) + " colour " + std::to_string(k);
      EXPECT_EQ(f.y[0], c.yuv[k][0]) << what;
      EXPECT_EQ(f.y[3], c.yuv[k][0]) << what;
      EXPECT_EQ(f.u(0), c.yuv[k][1]) << what;
      EXPECT_EQ(f.v(0), c.yuv[k][2]) << what;
    }
}

TEST_P(Colorimetries, ReferenceValuesDecodeToThePrimaries) {
  const auto c = GetParam();
  for (int k = 0; k < 5; ++k) {
    YuvFrame f(PixelFormat::kI420, 1, 1, c.colorimetry);
    f.y[0] = c.yuv[k][0], f.c1[0] = c.yuv[k][1], f.c2[0] = c.yuv[k][2];
    float rgb[3];
    frame_to_planar_rgb(f.view, rgb);
    // One level of rounding in each of Y, U and V moves a channel by at most about 2/255.
    for (int ch = 0; ch < 3; ++ch)
      EXPECT_NEAR(rgb[ch], kPrimaries[k][ch], 2.5f / 255)
          << colorimetry_name(c.colorimetry) << " colour " << k << " channel " << ch;
  }
}

TEST_P(Colorimetries, RandomColoursRoundTrip) {
  const auto c = GetParam();
  const int w = 8, h = 6;
  std::mt19937 rng(5);
  std::vector<float> planar(3 * w * h), back(planar.size());
  // Colours constant over each 2x2 block: chroma subsampling then loses nothing.
  for (int ch = 0; ch < 3; ++ch)
    for (int by = 0; by < h / 2; ++by)
      for (int bx = 0; bx < w / 2; ++bx) {
        const float v = (rng() % 256) / 255.0f;
        for (int d = 0; d < 4; ++d) planar[(ch * h + 2 * by + d / 2) * w + 2 * bx + d % 2] = v;
      }
  for (auto format : {PixelFormat::kI420, PixelFormat::kNV12}) {
    YuvFrame f(format, w, h, c.colorimetry);
    planar_rgb_to_frame(planar.data(), f.view, Rounding::kNearest);
    frame_to_planar_rgb(f.view, back.data());
    float worst = 0;
    for (size_t i = 0; i < planar.size(); ++i)
      worst = std::max(worst, std::abs(planar[i] - back[i]));
    // 8-bit limited-range YUV has fewer levels than RGB: a few levels of error, never more.
    EXPECT_LE(worst, 4.0f / 255) << colorimetry_name(c.colorimetry) << " "
                                 << pixel_format_name(format);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllMatricesAndRanges, Colorimetries,
    ::testing::Values(
        ColorimetryCase{
            {YuvMatrix::kBT601, YuvRange::kLimited},
            {{81, 90, 240}, {145, 54, 34}, {41, 240, 110}, {235, 128, 128}, {16, 128, 128}}},
        ColorimetryCase{
            {YuvMatrix::kBT601, YuvRange::kFull},
            {{76, 85, 255}, {150, 44, 21}, {29, 255, 107}, {255, 128, 128}, {0, 128, 128}}},
        ColorimetryCase{
            {YuvMatrix::kBT709, YuvRange::kLimited},
            {{63, 102, 240}, {173, 42, 26}, {32, 240, 118}, {235, 128, 128}, {16, 128, 128}}},
        ColorimetryCase{
            {YuvMatrix::kBT709, YuvRange::kFull},
            {{54, 99, 255}, {182, 30, 12}, {18, 255, 116}, {255, 128, 128}, {0, 128, 128}}}));

TEST(FrameCheck, ShortStrideOrEmptyFrame_n) {
  uint8_t px[12];
  EXPECT_THROW(check_frame(FrameView::packed(PixelFormat::kRGBA, px, 2, 1, 7), "in"), Error);
  EXPECT_THROW(check_frame(FrameView::packed(PixelFormat::kRGB, px, 0, 1), "in"), Error);
  EXPECT_NO_THROW(check_frame(FrameView::packed(PixelFormat::kRGBA, px, 2, 1), "in"));
  EXPECT_THROW(pixel_format_from_name("YUY2"), Error);
  EXPECT_EQ(pixel_format_from_name("BGRx"), PixelFormat::kBGRx);
}

}  // namespace
}  // namespace sapnet
