#include "data/png_file.h"

#include <vector>

#include "atomic_file.h"
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
  // 16-bit samples are sRGB-encoded unless the file says otherwise, as OpenCV reads them (libpng
  // alone would take them as linear light and brighten them). Alpha is read and then dropped, as
  // OpenCV's colour read does; asked for RGB, libpng would blend the pixels onto black.
  png.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  png.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> rgba(size_t(png.width) * png.height * 4);
  if (!png_image_finish_read(&png, nullptr, rgba.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    throw Error(path + ": cannot decode PNG (" + why + ")");
  }
  RgbImage img(int(png.width), int(png.height));
  for (size_t i = 0, n = size_t(png.width) * png.height; i < n; ++i)
    for (int c = 0; c < 3; ++c) img.pixels[3 * i + c] = rgba[4 * i + c];
  return img;
}

std::vector<uint8_t> read_png_grey(const std::string &path, int *width, int *height) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str()))
    throw Error(path + ": cannot read PNG (" + png.message + ")");
  png.format = PNG_FORMAT_GRAY;  // the file's own format: the bytes come through as they are
  std::vector<uint8_t> grey(size_t(png.width) * png.height);
  if (!png_image_finish_read(&png, nullptr, grey.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    throw Error(path + ": cannot decode PNG (" + why + ")");
  }
  *width = int(png.width);
  *height = int(png.height);
  return grey;
}

void write_png(const std::string &path, const RgbImage &image) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = png_uint_32(image.width);
  png.height = png_uint_32(image.height);
  png.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;  // first call: the encoded size, then the bytes
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels.data(), 0, nullptr))
    throw Error(path + ": cannot write PNG (" + png.message + ")");
  std::vector<uint8_t> bytes(size);
  if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, image.pixels.data(), 0, nullptr))
    throw Error(path + ": cannot write PNG (" + png.message + ")");
  AtomicFile file(path);  // all or nothing, as the OpenCV build writes images
  file.write(bytes.data(), size);
  file.commit();
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
std::vector<uint8_t> read_png_grey(const std::string &path, int *, int *) {
  throw Error(path + ": this build has no PNG decoder (libpng or OpenCV)");
}
#endif

}  // namespace sapnet
