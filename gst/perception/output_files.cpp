#include "output_files.h"

#include <fcntl.h>
#include <glib.h>
#include <png.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "error.h"

namespace sapnet::gst {

std::string unwritable_reason(const std::string &path) {
  if (path.empty()) return "no file name";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return "";
  }
  if (errno != ENOENT) return std::strerror(errno);
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  ::unlink(path.c_str());
  return "";
}

std::string location_pattern_error(const std::string &pattern) {
  static const char *const kPattern = "^([^%]|%%)*(%0?[0-9]?[0-9]?[diu]([^%]|%%)*)?$";
  if (g_regex_match_simple(kPattern, pattern.c_str(), G_REGEX_DOLLAR_ENDONLY,
                           static_cast<GRegexMatchFlags>(0)))
    return "";
  return "\"" + pattern +
         "\" is not a file-name pattern: it may hold one %d-style conversion for the frame "
         "number (%d, %05d, %i, %u) and %% for '%'";
}

std::string format_location(const std::string &pattern, uint64_t index) {
  const std::string why = location_pattern_error(pattern);
  if (!why.empty()) throw Error(why);
  // Checked above: at most one integer conversion, so one int argument is what printf reads.
  std::unique_ptr<gchar, decltype(&g_free)> name(
      g_strdup_printf(pattern.c_str(), static_cast<int>(index)), g_free);
  return name.get();
}

void write_gray_png(const std::string &path, const uint8_t *pixels, int width, int height) {
  if (width <= 0 || height <= 0) throw Error(path + ": cannot write an empty PNG");
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_GRAY;
#ifdef PNG_IMAGE_FLAG_FAST
  image.flags |= PNG_IMAGE_FLAG_FAST;  // a map per frame: speed over size
#endif
  if (!png_image_write_to_file(&image, path.c_str(), 0, pixels, width, nullptr)) {
    const std::string why = image.message;
    png_image_free(&image);
    throw Error(path + ": cannot write (" + why + ")");
  }
}

}  // namespace sapnet::gst
