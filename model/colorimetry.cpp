#include "colorimetry.h"

namespace sapnet {

const char *colorimetry_name(const Colorimetry &c) {
  const bool full = c.range == YuvRange::kFull;
  if (c.matrix == YuvMatrix::kBT709) return full ? "bt709-full" : "bt709-limited";
  return full ? "bt601-full" : "bt601-limited";
}

YuvCoefficients yuv_coefficients(const Colorimetry &c) {
  YuvCoefficients k{};
  // Luma weights of ITU-R BT.601 and BT.709.
  k.kr = c.matrix == YuvMatrix::kBT709 ? 0.2126f : 0.299f;
  k.kb = c.matrix == YuvMatrix::kBT709 ? 0.0722f : 0.114f;
  k.kg = 1.0f - k.kr - k.kb;
  const bool full = c.range == YuvRange::kFull;
  k.y_offset = full ? 0.0f : 16.0f;
  k.y_scale = full ? 255.0f : 219.0f;
  k.c_scale = full ? 255.0f : 224.0f;
  k.rv = 2.0f * (1.0f - k.kr);
  k.bu = 2.0f * (1.0f - k.kb);
  k.gu = -k.bu * k.kb / k.kg;
  k.gv = -k.rv * k.kr / k.kg;
  return k;
}

}  // namespace sapnet
