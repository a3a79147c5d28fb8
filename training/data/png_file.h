// 8-bit RGB PNG files through libpng's simplified API: what reads and writes images in builds
// without OpenCV (the GPU machine has no OpenCV, and `sapnet eval` must still read Rain100L there).
#pragma once

#include <string>

#include "data/image.h"

namespace sapnet {

// True when this build has libpng.
bool png_io_available();
// Any PNG (grey, palette, 16-bit, alpha) as 8-bit RGB; throws sapnet::Error naming the file.
RgbImage read_png(const std::string &path);
// Throws sapnet::Error naming the file.
void write_png(const std::string &path, const RgbImage &image);

}  // namespace sapnet
