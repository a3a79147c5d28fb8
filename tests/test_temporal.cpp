// The temporal smoother: still pixels average over frames, moving ones are taken as they come,
// alpha is untouched, and a reset or a new size starts anew.
#include <gtest/gtest.h>

#include <vector>

#include "error.h"
#include "temporal_smoother.h"

namespace sapnet {
namespace {

struct Frame {
  PixelFormat format;
  int width, height;
  std::vector<uint8_t> bytes;
  Frame(PixelFormat f, int w, int h, uint8_t fill) : format(f), width(w), height(h) {
    const int cw = (w + 1) / 2, ch = (h + 1) / 2;
    const size_t n = bytes_per_pixel(f) ? size_t(w) * h * bytes_per_pixel(f)
                                        : size_t(w) * h + size_t(2) * cw * ch;
    bytes.assign(n, fill);
  }
  FrameView view() {
    if (format != PixelFormat::kNV12 && format != PixelFormat::kI420)
      return FrameView::packed(format, bytes.data(), width, height);
    FrameView v;
    v.format = format, v.width = width, v.height = height;
    const int cw = (width + 1) / 2, ch = (height + 1) / 2;
    v.planes[0] = bytes.data(), v.strides[0] = width;
    v.planes[1] = bytes.data() + size_t(width) * height;
    if (format == PixelFormat::kNV12) {
      v.strides[1] = 2 * cw;
    } else {
      v.strides[1] = v.strides[2] = cw;
      v.planes[2] = v.planes[1] + size_t(cw) * ch;
    }
    return v;
  }
};

TEST(TemporalSmoother, StillPixelsAverageAndMovingPixelsPassAsTheyCome) {
  TemporalSmoother smoother({0.5f, 6.0f, 24.0f, 0.5f});
  Frame first(PixelFormat::kRGB, 4, 2, 100);
  smoother.apply(first.view());
  EXPECT_EQ(first.bytes, std::vector<uint8_t>(first.bytes.size(), 100));  // first frame unchanged

  Frame second(PixelFormat::kRGB, 4, 2, 104);  // flicker of 4 levels: still
  second.bytes[0] = 200;                       // pixel 0 moves (red channel +100)
  smoother.apply(second.view());
  EXPECT_EQ(second.bytes[0], 200);  // moving: the new frame
  EXPECT_EQ(second.bytes[1], 104);  // the other channels of a moving pixel too
  EXPECT_EQ(second.bytes[3], 102);  // still: half way (strength 0.5)
  EXPECT_EQ(second.bytes[23], 102);

  // Between the thresholds the weight ramps: a difference of 15 (half way from 6 to 24) keeps a
  // quarter of the previous output.
  Frame third(PixelFormat::kRGB, 4, 2, 102);
  third.bytes[3] = 117;
  smoother.apply(third.view());
  EXPECT_EQ(third.bytes[3], 113);  // 102 + 0.75 * 15 = 113.25
  EXPECT_EQ(third.bytes[6], 102);
}

TEST(TemporalSmoother, AFrameWhereMostOfThePictureMovesIsTakenAsItIs) {
  TemporalSmoother smoother({0.5f, 6.0f, 24.0f, 0.25f});
  Frame a(PixelFormat::kRGB, 4, 4, 100), b(PixelFormat::kRGB, 4, 4, 104);
  smoother.apply(a.view());
  for (int px = 0; px < 5; ++px) b.bytes[3 * px] = 160;  // 5 of 16 pixels move: a camera pan
  smoother.apply(b.view());
  EXPECT_EQ(b.bytes[3 * 6], 104);  // a still pixel is not blended either
  // ... and the next frame blends from this one, not from the frame before the pan.
  Frame c = b;
  for (auto &v : c.bytes) v += 4;
  smoother.apply(c.view());
  EXPECT_EQ(c.bytes[3 * 6], 106);
}

TEST(TemporalSmoother, AlphaAndPaddingAreLeftAlone) {
  TemporalSmoother smoother;
  Frame a(PixelFormat::kBGRA, 3, 3, 50), b(PixelFormat::kBGRA, 3, 3, 52);
  for (size_t i = 3; i < b.bytes.size(); i += 4) a.bytes[i] = 255, b.bytes[i] = 7;
  smoother.apply(a.view());
  smoother.apply(b.view());
  for (size_t i = 0; i < b.bytes.size(); ++i) EXPECT_EQ(b.bytes[i], i % 4 == 3 ? 7 : 51) << i;
}

TEST(TemporalSmoother, PlanarYuvSmoothsLumaAndChroma) {
  for (PixelFormat f : {PixelFormat::kNV12, PixelFormat::kI420}) {
    TemporalSmoother smoother;
    Frame a(f, 5, 3, 80), b(f, 5, 3, 84);  // odd size: chroma rounds up
    smoother.apply(a.view());
    smoother.apply(b.view());
    EXPECT_EQ(b.bytes, std::vector<uint8_t>(b.bytes.size(), 82)) << pixel_format_name(f);
  }
}

TEST(TemporalSmoother, ResetNewSizesAndStrengthZeroStartAnew) {
  TemporalSmoother smoother;
  Frame a(PixelFormat::kRGBx, 4, 4, 10), b(PixelFormat::kRGBx, 4, 4, 14);
  smoother.apply(a.view());
  smoother.reset();
  smoother.apply(b.view());
  EXPECT_EQ(b.bytes, std::vector<uint8_t>(b.bytes.size(), 14));
  Frame c(PixelFormat::kRGBx, 6, 4, 18);  // another size: a new start
  smoother.apply(c.view());
  EXPECT_EQ(c.bytes, std::vector<uint8_t>(c.bytes.size(), 18));
  Frame d(PixelFormat::kRGB, 6, 4, 18), e(PixelFormat::kRGB, 6, 4, 22);  // another layout too
  smoother.apply(d.view());
  TemporalSmoother off({0.0f, 6.0f, 24.0f});
  Frame f(PixelFormat::kRGB, 6, 4, 18);
  off.apply(f.view());
  off.apply(e.view());
  EXPECT_EQ(e.bytes, std::vector<uint8_t>(e.bytes.size(), 22));
}

TEST(TemporalSmoother, SettingsOutOfRangeAreRefused_n) {
  EXPECT_THROW(TemporalSmoother({1.0f, 6.0f, 24.0f}), Error);
  EXPECT_THROW(TemporalSmoother({-0.1f, 6.0f, 24.0f}), Error);
  EXPECT_THROW(TemporalSmoother({0.5f, 24.0f, 6.0f}), Error);
  EXPECT_THROW(TemporalSmoother({0.5f, 6.0f, 300.0f}), Error);
  EXPECT_THROW(TemporalSmoother({0.5f, 6.0f, 24.0f, 0.0f}), Error);
}

}  // namespace
}  // namespace sapnet
