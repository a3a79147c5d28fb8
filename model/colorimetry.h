// How a YUV frame's bytes relate to RGB: the matrix (BT.601 or BT.709) and the range (limited
// 16..235/240 or full 0..255), and the coefficients both directions use. tensor_frame.cpp is the
// only code that applies them.
#pragma once

#include "export.h"

namespace sapnet {

enum class YuvMatrix { kBT601, kBT709 };
enum class YuvRange { kLimited, kFull };

// BT.601 limited range is what GStreamer gives SD and untagged YUV.
struct Colorimetry {
  YuvMatrix matrix = YuvMatrix::kBT601;
  YuvRange range = YuvRange::kLimited;
  bool operator==(const Colorimetry &o) const { return matrix == o.matrix && range == o.range; }
  bool operator!=(const Colorimetry &o) const { return !(*this == o); }
};

// "bt601-limited", "bt709-full", ...
SAPNET_API const char *colorimetry_name(const Colorimetry &c);

// R, G, B in [0, 1]; Y, U, V as byte levels.
//   Y = y_offset + y_scale * (kr R + kg G + kb B)
//   U = 128 + c_scale * (B - Y') / (2 (1 - kb)),  V = 128 + c_scale * (R - Y') / (2 (1 - kr))
// and the inverse, written as R = Y' + rv V', G = Y' + gu U' + gv V', B = Y' + bu U', with
// Y' = (Y - y_offset) / y_scale, U' = (U - 128) / c_scale, V' = (V - 128) / c_scale.
struct YuvCoefficients {
  float kr, kg, kb;
  float y_offset, y_scale, c_scale;
  float rv, gu, gv, bu;
};

SAPNET_API YuvCoefficients yuv_coefficients(const Colorimetry &c);

}  // namespace sapnet
