#include "data/picture_grid.h"

#include <algorithm>
#include <cstring>

#include "error.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgproc.hpp>
#endif

namespace sapnet {
namespace {

constexpr uint8_t kBackground = 24;

void paste(RgbImage &canvas, const RgbImage &tile, int left, int top) {
  for (int y = 0; y < tile.height; ++y)
    std::memcpy(&canvas.pixels[(size_t(top + y) * canvas.width + left) * 3],
                &tile.pixels[size_t(y) * tile.width * 3], size_t(tile.width) * 3);
}

#if SAPNET_HAVE_OPENCV
// White text with a dark box behind it, so that it reads over any tile; text wider than
// `max_width` loses its start ("...", the end of a path says most).
void label(RgbImage &canvas, const std::string &text, int left, int baseline, int max_width,
           bool boxed) {
  if (text.empty()) return;
  cv::Mat m(canvas.height, canvas.width, CV_8UC3, canvas.pixels.data());
  const double scale = 0.45;
  int base = 0;
  std::string shown = text;
  cv::Size size = cv::getTextSize(shown, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base);
  for (size_t cut = 1; size.width > max_width && cut < text.size(); ++cut) {
    shown = "..." + text.substr(cut);
    size = cv::getTextSize(shown, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base);
  }
  if (boxed)
    cv::rectangle(
        m, cv::Rect(left - 3, baseline - size.height - 3, size.width + 6, size.height + base + 5),
        cv::Scalar(0, 0, 0), cv::FILLED);
  cv::putText(m, shown, cv::Point(left, baseline), cv::FONT_HERSHEY_SIMPLEX, scale,
              cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
}
#else
void label(RgbImage &, const std::string &, int, int, int, bool) {}
#endif

}  // namespace

RgbImage crop_image(const RgbImage &image, int x, int y, int width, int height) {
  if (x < 0) x = (image.width - width) / 2;
  if (y < 0) y = (image.height - height) / 2;
  if (width <= 0 || height <= 0 || x < 0 || y < 0 || x + width > image.width ||
      y + height > image.height)
    throw Error("a " + std::to_string(width) + "x" + std::to_string(height) + " crop at (" +
                std::to_string(x) + ", " + std::to_string(y) + ") does not fit a " +
                std::to_string(image.width) + "x" + std::to_string(image.height) + " image");
  RgbImage out(width, height);
  for (int r = 0; r < height; ++r)
    std::memcpy(&out.pixels[size_t(r) * width * 3],
                &image.pixels[(size_t(y + r) * image.width + x) * 3], size_t(width) * 3);
  return out;
}

RgbImage compose_picture(const PictureGrid &grid) {
  if (grid.rows.empty()) throw Error("a picture needs at least one row");
  const size_t columns = grid.column_titles.size();
  if (grid.row_titles.size() != grid.rows.size())
    throw Error("a picture needs one row title per row");
  const int tile_w = grid.rows[0].empty() ? 0 : grid.rows[0][0].width;
  const int tile_h = grid.rows[0].empty() ? 0 : grid.rows[0][0].height;
  for (const auto &row : grid.rows) {
    if (row.size() != columns)
      throw Error("every picture row needs " + std::to_string(columns) + " tiles");
    for (const auto &tile : row)
      if (tile.width != tile_w || tile.height != tile_h)
        throw Error("picture tiles differ in size");
  }
  if (columns == 0 || tile_w == 0) throw Error("a picture needs at least one tile");
  const int gap = std::max(0, grid.gap);
  RgbImage canvas(int(columns) * tile_w + int(columns + 1) * gap,
                  kPictureHeader + int(grid.rows.size()) * (tile_h + gap));
  std::fill(canvas.pixels.begin(), canvas.pixels.end(), kBackground);
  for (size_t c = 0; c < columns; ++c)
    label(canvas, grid.column_titles[c], gap + int(c) * (tile_w + gap) + 2, kPictureHeader - 7,
          tile_w - 4, false);
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    const int top = kPictureHeader + int(r) * (tile_h + gap);
    for (size_t c = 0; c < columns; ++c)
      paste(canvas, grid.rows[r][c], gap + int(c) * (tile_w + gap), top);
    label(canvas, grid.row_titles[r], gap + 5, top + tile_h - 6, tile_w - 13, true);
  }
  return canvas;
}

}  // namespace sapnet
