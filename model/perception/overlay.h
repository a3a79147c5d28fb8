// Drawing detection boxes and blending class maps into frames, in place, for every format the
// Engine takes (torch-free). Packed RGB-family frames get colours; NV12 and I420 get boxes on the
// luma plane only, and class colours blended into luma and chroma.
#pragma once

#include <array>
#include <cstdint>

#include "frame.h"

namespace sapnet {

using Rgb = std::array<uint8_t, 3>;

// A distinct, stable colour per class id (bit-interleaved palette; class 0 is black).
Rgb class_colour(int class_id);

// The outline of the box [x, y, x + w) x [y, y + h), `thickness` pixels wide inside it, clipped to
// the frame. A `tab` > 0 also fills a tab x tab square in the box's top-left corner (a colour key
// for the class, where a label would go). Pixels outside the box are untouched.
void draw_box(const FrameView &frame, int x, int y, int w, int h, Rgb colour, int thickness = 2,
              int tab = 0);

// Blends class_colour(ids[i]) into every pixel: p = (1 - alpha) p + alpha colour. `ids` has
// frame.width x frame.height bytes, rows packed. For NV12/I420 a chroma sample takes the colour
// of the top-left pixel of its 2x2 block.
void blend_class_map(const FrameView &frame, const uint8_t *ids, float alpha);

}  // namespace sapnet
