// A comparison picture: equal-sized tiles in rows and columns, with column titles above and a row
// title on each row's first tile (the README's rainy | derained figures).
#pragma once

#include <string>
#include <vector>

#include "data/image.h"

namespace sapnet {

// The `width` x `height` window of `image` whose top-left corner is (x, y); x or y below 0 centre
// the window on that axis. Throws sapnet::Error when the window does not fit inside the image.
RgbImage crop_image(const RgbImage &image, int x, int y, int width, int height);

struct PictureGrid {
  std::vector<std::string> column_titles;   // one per column
  std::vector<std::string> row_titles;      // one per row; may be empty strings
  std::vector<std::vector<RgbImage>> rows;  // every tile of one size
  int gap = 4;                              // dark pixels between tiles
};

// Height of the title strip above the tiles.
constexpr int kPictureHeader = 22;

// Lays the tiles out; titles are drawn where OpenCV is present (without it the strips stay
// plain). Throws sapnet::Error when rows are ragged, tiles differ in size or titles miscount.
RgbImage compose_picture(const PictureGrid &grid);

}  // namespace sapnet
