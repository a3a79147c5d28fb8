// Pixel layouts to planar RGB and back, without LibTorch.
#include <gtest/gtest.h>

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
