#include "data/png_file.h"

#include "error.h"

#if SAPNET_HAVE_LIBPNG
#include <png.h>
#endif

namespace sapnet {

#if SAPNET_HAVE_LIBPNG
bool png_io_available() {
  return true;
}

RgbImage read_png(const std::string &path) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str()))
    throw Error(path + ": cannot read PNG (" + png.message + ")");
  png.format = PNG_FORMAT_RGB;  // libpng converts grey, palette, 16-bit and drops alpha
  RgbImage img(int(png.width), int(png.height));
  if (!png_image_finish_read(&png, nullptr, img.pixels.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    throw Error(path + ": cannot decode PNG (" + why + ")");
  }
  return img;
}

void write_png(const std::string &path, const RgbImage &image) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = png_uint_32(image.width);
  png.height = png_uint_32(image.height);
  png.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), 0, nullptr))
    throw Error(path + ": cannot write PNG (" + png.message + ")");
}
#else
bool png_io_available() {
  return false;
}
RgbImage read_png(const std::string &path) {
  throw Error(path + ": this build has no PNG decoder (libpng or OpenCV)");
}
void write_png(const std::string &path, const RgbImage &) {
  throw Error(path + ": this build has no PNG encoder (libpng or OpenCV)");
}
#endif

}  // namespace sapnet
