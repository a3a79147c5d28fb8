// The temporal smoother: still pixels average over frames, moving ones are taken as they come,
// alpha is untouched, and a reset or a new size starts anew.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "error.h"
#include "global_motion.h"
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

// Value noise (random levels on an 8-pixel grid, bilinear between) seen through a w x h window at
// (x0, y0), `amplitude` levels around 120: the view of a panning camera over a natural-looking,
// non-repeating scene.
Frame window(int x0, int y0, int w, int h, float amplitude) {
  auto lattice = [](int i, int j) {
    uint32_t k = uint32_t(i) * 73856093u ^ uint32_t(j) * 19349663u;
    k ^= k >> 13, k *= 0x5bd1e995u, k ^= k >> 15;
    return (k & 0xffff) / 65535.0 * 2 - 1;
  };
  auto noise = [&](double u, double v) {
    const int i = int(std::floor(u / 8)), j = int(std::floor(v / 8));
    const double fu = u / 8 - i, fv = v / 8 - j;
    return (1 - fv) * ((1 - fu) * lattice(i, j) + fu * lattice(i + 1, j)) +
           fv * ((1 - fu) * lattice(i, j + 1) + fu * lattice(i + 1, j + 1));
  };
  Frame f(PixelFormat::kRGB, w, h, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double t = noise(x + x0, y + y0);
      for (int c = 0; c < 3; ++c)
        f.bytes[(size_t(y) * w + x) * 3 + c] = uint8_t(std::lround(120 + amplitude * t + 5 * c));
    }
  return f;
}

LumaImage luma(const Frame &f) {
  LumaImage l;
  l.width = f.width, l.height = f.height;
  for (size_t i = 0; i < f.bytes.size(); i += 3) l.pixels.push_back(f.bytes[i + 1]);
  return l;
}

TEST(GlobalMotion, FindsTheCamerasTranslation) {
  const Frame base = window(100, 100, 160, 120, 60);
  for (auto [dx, dy] : {std::pair{5, 8}, {-7, 3}, {0, 0}, {21, -17}, {-40, 30}}) {
    const Translation t =
        estimate_translation(luma(base), luma(window(100 + dx, 100 + dy, 160, 120, 60)));
    EXPECT_EQ(t.dx, dx);
    EXPECT_EQ(t.dy, dy);
  }
  EXPECT_THROW(estimate_translation(luma(base), luma(window(0, 0, 80, 60, 60))), Error);
}

TEST(TemporalSmoother, FollowsAPanningCameraInsteadOfSmearing) {
  // A low-contrast scene, so that the pan alone does not look like a cut to the motion gate.
  Frame a = window(50, 50, 96, 72, 12), b = window(54, 52, 96, 72, 12);
  const std::vector<uint8_t> expected = b.bytes;
  TemporalSmoother follow;
  follow.apply(a.view());
  follow.apply(b.view());
  EXPECT_EQ(b.bytes, expected);  // the history moved with the camera: nothing to blend

  Frame a2 = window(50, 50, 96, 72, 12), b2 = window(54, 52, 96, 72, 12);
  TemporalSmoothing still_camera;
  still_camera.max_shift = 0;
  TemporalSmoother blind(still_camera);
  blind.apply(a2.view());
  blind.apply(b2.view());
  EXPECT_NE(b2.bytes, expected);  // without it the previous view is smeared in
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
  EXPECT_THROW(TemporalSmoother({0.5f, 6.0f, 24.0f, 0.25f, -1}), Error);
}

}  // namespace
}  // namespace sapnet
