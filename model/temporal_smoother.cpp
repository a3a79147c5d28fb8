#include "temporal_smoother.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "error.h"

namespace sapnet {

void TemporalSmoothing::validate() const {
  if (!(strength >= 0 && strength < 1))
    throw Error("temporal smoothing strength must be in [0, 1), got " + std::to_string(strength));
  if (!(camera_motion > 0 && camera_motion <= 1))
    throw Error("temporal smoothing camera-motion share must be in (0, 1], got " +
                std::to_string(camera_motion));
  if (max_shift < 0 || max_shift > 512)
    throw Error("temporal smoothing max shift must be in [0, 512], got " +
                std::to_string(max_shift));
  if (!(still >= 0 && moving > still && moving <= 255))
    throw Error("temporal smoothing thresholds must satisfy 0 <= still < moving <= 255, got " +
                std::to_string(still) + " and " + std::to_string(moving));
}

TemporalSmoother::TemporalSmoother(TemporalSmoothing settings) : settings_(settings) {
  settings_.validate();
}

void TemporalSmoother::reset() {
  width_ = height_ = 0;
  state_.clear();
}

void TemporalSmoother::blend_plane(uint8_t *data, int stride, int w, int h, int step, int channels,
                                   float *state) {
  const float keep = settings_.strength, still = settings_.still;
  const float ramp = 1.0f / (settings_.moving - settings_.still);
  for (int y = 0; y < h; ++y) {
    uint8_t *row = data + size_t(y) * stride;
    float *prev = state + size_t(y) * w * channels;
    for (int x = 0; x < w; ++x) {
      uint8_t *px = row + size_t(x) * step;
      float *pv = prev + size_t(x) * channels;
      float diff = 0;
      for (int c = 0; c < channels; ++c) diff = std::max(diff, std::fabs(px[c] - pv[c]));
      // Weight of the new frame: 1 - keep when still, 1 when moving.
      const float motion = std::clamp((diff - still) * ramp, 0.0f, 1.0f);
      const float w_new = 1.0f - keep * (1.0f - motion);
      for (int c = 0; c < channels; ++c) {
        pv[c] += w_new * (px[c] - pv[c]);
        px[c] = uint8_t(std::lround(std::clamp(pv[c], 0.0f, 255.0f)));
      }
    }
  }
}

float TemporalSmoother::moving_share(const uint8_t *data, int stride, int w, int h, int step,
                                     int channels, const float *state) const {
  size_t moving = 0;
  for (int y = 0; y < h; ++y) {
    const uint8_t *row = data + size_t(y) * stride;
    const float *prev = state + size_t(y) * w * channels;
    for (int x = 0; x < w; ++x) {
      float diff = 0;
      for (int c = 0; c < channels; ++c)
        diff =
            std::max(diff, std::fabs(row[size_t(x) * step + c] - prev[size_t(x) * channels + c]));
      moving += diff >= settings_.moving;
    }
  }
  return float(moving) / (size_t(w) * h);
}

void TemporalSmoother::luma_of(const FrameView &frame, LumaImage &l) {
  l.width = frame.width, l.height = frame.height;
  l.pixels.resize(size_t(l.width) * l.height);
  const bool yuv = frame.format == PixelFormat::kNV12 || frame.format == PixelFormat::kI420;
  const int step = yuv ? 1 : bytes_per_pixel(frame.format);
  for (int y = 0; y < l.height; ++y) {
    const uint8_t *row = frame.planes[0] + size_t(y) * frame.strides[0];
    float *out = &l.pixels[size_t(y) * l.width];
    for (int x = 0; x < l.width; ++x) {
      const uint8_t *px = row + size_t(x) * step;
      out[x] = yuv ? px[0] : 0.25f * (px[0] + 2.0f * px[1] + px[2]);
    }
  }
}

void TemporalSmoother::shift_plane(float *state, int w, int h, int channels, int dx, int dy,
                                   const uint8_t *data, int stride, int step) {
  std::vector<float> &moved = shifted_;
  moved.resize(size_t(w) * h * channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int sx = x + dx, sy = y + dy;
      float *to = &moved[(size_t(y) * w + x) * channels];
      if (sx >= 0 && sy >= 0 && sx < w && sy < h) {
        const float *from = &state[(size_t(sy) * w + sx) * channels];
        std::copy(from, from + channels, to);
      } else {
        const uint8_t *px = data + size_t(y) * stride + size_t(x) * step;
        for (int c = 0; c < channels; ++c) to[c] = px[c];
      }
    }
  std::copy(moved.begin(), moved.end(), state);
}

void TemporalSmoother::apply(const FrameView &frame) {
  check_frame(frame, "temporal smoothing");
  const int w = frame.width, h = frame.height;
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  const bool yuv = frame.format == PixelFormat::kNV12 || frame.format == PixelFormat::kI420;
  const size_t samples = yuv ? size_t(w) * h + size_t(2) * cw * ch : size_t(3) * w * h;
  bool fresh = state_.size() != samples || frame.format != format_ || w != width_ || h != height_;
  if (fresh) {
    format_ = frame.format, width_ = w, height_ = h;
    state_.assign(samples, 0.0f);
  } else {
    const int step = yuv ? 1 : bytes_per_pixel(frame.format), channels = yuv ? 1 : 3;
    if (settings_.max_shift > 0) {
      // Follow the camera: move the history by the frame's translation first.
      luma_of(frame, current_luma_);
      const Translation t = motion_.estimate(luma_, current_luma_, settings_.max_shift);
      if (t.dx || t.dy) {
        float *c_state = state_.data() + size_t(w) * h;
        const int cdx = int(std::lround(t.dx / 2.0)), cdy = int(std::lround(t.dy / 2.0));
        switch (frame.format) {
          case PixelFormat::kNV12:
            shift_plane(state_.data(), w, h, 1, t.dx, t.dy, frame.planes[0], frame.strides[0], 1);
            shift_plane(c_state, cw, ch, 2, cdx, cdy, frame.planes[1], frame.strides[1], 2);
            break;
          case PixelFormat::kI420:
            shift_plane(state_.data(), w, h, 1, t.dx, t.dy, frame.planes[0], frame.strides[0], 1);
            shift_plane(c_state, cw, ch, 1, cdx, cdy, frame.planes[1], frame.strides[1], 1);
            shift_plane(c_state + size_t(cw) * ch, cw, ch, 1, cdx, cdy, frame.planes[2],
                        frame.strides[2], 1);
            break;
          default:
            shift_plane(state_.data(), w, h, 3, t.dx, t.dy, frame.planes[0], frame.strides[0],
                        step);
        }
      }
    }
    // What still moves after that (a zoom, a cut, much motion in the scene) is taken as it is.
    fresh = moving_share(frame.planes[0], frame.strides[0], w, h, step, channels, state_.data()) >
            settings_.camera_motion;
  }
  // A fresh state takes the frame as it is: with the state at the frame's own values every
  // difference is 0, and blending leaves the bytes unchanged.
  auto seed = [&](const uint8_t *data, int stride, int pw, int ph, int step, int channels,
                  float *state) {
    for (int y = 0; y < ph; ++y)
      for (int x = 0; x < pw; ++x)
        for (int c = 0; c < channels; ++c)
          state[(size_t(y) * pw + x) * channels + c] =
              data[size_t(y) * stride + size_t(x) * step + c];
  };
  float *y_state = state_.data();
  float *c_state = state_.data() + size_t(w) * h;
  auto process = [&](uint8_t *data, int stride, int pw, int ph, int step, int channels,
                     float *state) {
    if (fresh) seed(data, stride, pw, ph, step, channels, state);
    blend_plane(data, stride, pw, ph, step, channels, state);
  };
  switch (frame.format) {
    case PixelFormat::kNV12:
      process(frame.planes[0], frame.strides[0], w, h, 1, 1, y_state);
      process(frame.planes[1], frame.strides[1], cw, ch, 2, 2, c_state);
      break;
    case PixelFormat::kI420:
      // U and V are separate planes: each is smoothed on its own differences.
      process(frame.planes[0], frame.strides[0], w, h, 1, 1, y_state);
      process(frame.planes[1], frame.strides[1], cw, ch, 1, 1, c_state);
      process(frame.planes[2], frame.strides[2], cw, ch, 1, 1, c_state + size_t(cw) * ch);
      break;
    default:
      // Packed: the colour bytes come first in every layout; alpha and padding are left alone.
      process(frame.planes[0], frame.strides[0], w, h, bytes_per_pixel(frame.format), 3, y_state);
  }
  if (settings_.max_shift > 0) luma_of(frame, luma_);
}

}  // namespace sapnet
