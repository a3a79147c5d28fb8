#include "data/image.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "atomic_file.h"
#include "data/jpeg_markers.h"
#include "data/png_file.h"
#include "error.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace sapnet {

std::string lowercase_extension(const std::string &path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

bool has_image_extension(const std::string &path) {
  const std::string ext = lowercase_extension(path);
  for (const char *known : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"})
    if (ext == known) return true;
  return false;
}

// uint8(255 * clamp(x, 0, 1)), truncated and NaN as 0: how the Engine and `eval` make bytes of the
// network's output (the authors' test.py), so that `derain`'s 8-bit files hold what `eval` scores.
static uint8_t truncated_byte(float x) {
  return x > 0 ? uint8_t(std::min(x, 1.0f) * 255.0f) : uint8_t(0);
}

#if SAPNET_HAVE_OPENCV

namespace {

std::vector<uint8_t> read_file_bytes(const std::string &path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": no such image file");
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw Error(path + ": cannot read image file");
  return bytes;
}

// `keep_everything`: alpha and 16 bits as the file has them. Otherwise 8-bit BGR. JPEGs (never
// alpha, never 16 bits here) are always decoded the second way, the one in which OpenCV turns the
// image as its EXIF orientation says: a phone's portrait photo stays upright.
cv::Mat decode(const std::string &path, bool keep_everything) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const bool jpeg = looks_like_jpeg(bytes.data(), bytes.size());
  if (jpeg && !jpeg_reaches_end_marker(bytes.data(), bytes.size()))
    throw Error(path + ": truncated JPEG (no end-of-image marker)");
  const int flags = keep_everything && !jpeg ? cv::IMREAD_UNCHANGED : cv::IMREAD_COLOR;
  cv::Mat m;
  try {
    m = cv::imdecode(bytes, flags);
  } catch (const cv::Exception &e) {
    throw Error(path + ": cannot decode image (" + e.msg + ")");
  }
  if (m.empty()) throw Error(path + ": cannot decode image (corrupt or unsupported format)");
  return m;
}

// Encodes by the path's extension and replaces the file only once the whole image is written: an
// interrupted run leaves the previous file or none, never a cut one under the final name.
void encode_to_file(const std::string &path, const cv::Mat &image) {
  std::vector<uint8_t> bytes;
  bool ok = false;
  try {
    ok = cv::imencode(lowercase_extension(path), image, bytes);
  } catch (const cv::Exception &e) {
    throw Error(path + ": cannot write image (" + e.msg + ")");
  }
  if (!ok) throw Error(path + ": cannot write image (no encoder for this file name's extension)");
  AtomicFile file(path);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

}  // namespace

bool image_io_available() {
  return true;
}

PlanarImage read_planar_image(const std::string &path) {
  cv::Mat m = decode(path, true);
  if (m.depth() != CV_8U && m.depth() != CV_16U)
    throw Error(path + ": unsupported sample type (8 or 16 bits per channel expected)");
  PlanarImage img;
  img.width = m.cols;
  img.height = m.rows;
  img.bits = m.depth() == CV_16U ? 16 : 8;
  cv::Mat bgr, alpha;
  if (m.channels() == 4) {
    cv::extractChannel(m, alpha, 3);
    cv::cvtColor(m, bgr, cv::COLOR_BGRA2BGR);
  } else if (m.channels() == 1) {
    cv::cvtColor(m, bgr, cv::COLOR_GRAY2BGR);
  } else {
    bgr = m;
  }
  const double scale = 1.0 / (img.bits == 16 ? 65535.0 : 255.0);
  const size_t plane = size_t(img.width) * img.height;
  img.rgb.resize(3 * plane);
  std::vector<cv::Mat> channels;
  cv::split(bgr, channels);
  for (int c = 0; c < 3; ++c) {  // file order B, G, R -> planes R, G, B
    cv::Mat dst(img.height, img.width, CV_32F, img.rgb.data() + (2 - c) * plane);
    channels[c].convertTo(dst, CV_32F, scale);
  }
  if (!alpha.empty()) {
    img.alpha.resize(plane);
    alpha.convertTo(cv::Mat(img.height, img.width, CV_32F, img.alpha.data()), CV_32F, scale);
  }
  return img;
}

namespace {

// A plane as truncated bytes (cv::Mat::convertTo would round).
cv::Mat truncated_bytes(const float *plane, int width, int height) {
  cv::Mat out(height, width, CV_8U);
  uint8_t *dst = out.ptr<uint8_t>();
  for (size_t i = 0, n = size_t(width) * height; i < n; ++i) dst[i] = truncated_byte(plane[i]);
  return out;
}

// Rounded (saturating) conversion: 16-bit colour, which has no reference rule, and alpha, which is
// passed through and must come back as read (x / 65535 * 65535 can land just below x in float).
cv::Mat rounded(const float *plane, int width, int height, bool sixteen_bits) {
  cv::Mat out;
  cv::Mat(height, width, CV_32F, const_cast<float *>(plane))
      .convertTo(out, sixteen_bits ? CV_16U : CV_8U, sixteen_bits ? 65535.0 : 255.0);
  return out;
}

}  // namespace

void write_planar_image(const std::string &path, const PlanarImage &image) {
  const size_t plane = size_t(image.width) * image.height;
  const bool sixteen = image.bits == 16;
  std::vector<cv::Mat> channels;
  for (int c = 2; c >= 0; --c) {  // planes R, G, B -> file order B, G, R
    const float *p = image.rgb.data() + c * plane;
    channels.push_back(sixteen ? rounded(p, image.width, image.height, true)
                               : truncated_bytes(p, image.width, image.height));
  }
  if (!image.alpha.empty())
    channels.push_back(rounded(image.alpha.data(), image.width, image.height, sixteen));
  cv::Mat out;
  cv::merge(channels, out);
  encode_to_file(path, out);
}

RgbImage shrink_image(RgbImage img, int max_side) {
  const int side = std::max(img.width, img.height);
  if (max_side <= 0 || side <= max_side) return img;
  const double f = double(max_side) / side;
  RgbImage small(std::max(1, int(img.width * f + 0.5)), std::max(1, int(img.height * f + 0.5)));
  cv::Mat src(img.height, img.width, CV_8UC3, img.pixels.data());
  cv::Mat dst(small.height, small.width, CV_8UC3, small.pixels.data());
  cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_AREA);
  return small;
}

RgbImage read_image(const std::string &path) {
  cv::Mat bgr = decode(path, false);
  RgbImage img(bgr.cols, bgr.rows);
  cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, img.pixels.data());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return img;
}

void write_image(const std::string &path, const RgbImage &image) {
  cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t *>(image.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  encode_to_file(path, bgr);
}

#else

// Without OpenCV: PNG only, through libpng when the build has it (the GPU machine's builds).
bool image_io_available() {
  return false;
}

RgbImage shrink_image(RgbImage img, int) {
  return img;
}

static bool is_png(const std::string &path) {
  const auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  for (auto &c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext == "png";
}

RgbImage read_image(const std::string &path) {
  if (is_png(path) && png_io_available()) return read_png(path);
  throw Error(path + ": this build has no decoder for this image (configure with OpenCV)");
}

// Packed 8-bit RGB to planes and back by hand, as the OpenCV branch does with cv::split: this
// library stays free of LibTorch (the frame conversions of libsapnet are tensor code).
PlanarImage read_planar_image(const std::string &path) {
  const RgbImage rgb = read_image(path);
  PlanarImage img;
  img.width = rgb.width, img.height = rgb.height;
  const size_t plane = size_t(rgb.width) * rgb.height;
  img.rgb.resize(3 * plane);
  for (size_t i = 0; i < plane; ++i)
    for (size_t c = 0; c < 3; ++c) img.rgb[c * plane + i] = rgb.pixels[3 * i + c] / 255.0f;
  return img;
}

void write_planar_image(const std::string &path, const PlanarImage &image) {
  RgbImage rgb(image.width, image.height);
  const size_t plane = size_t(image.width) * image.height;
  for (size_t i = 0; i < plane; ++i)
    for (size_t c = 0; c < 3; ++c) rgb.pixels[3 * i + c] = truncated_byte(image.rgb[c * plane + i]);
  write_image(path, rgb);
}

void write_image(const std::string &path, const RgbImage &image) {
  if (is_png(path) && png_io_available()) return write_png(path, image);
  throw Error(path + ": this build has no encoder for this image (configure with OpenCV)");
}

#endif

}  // namespace sapnet
