// Test frames for the element suites: random bytes laid out as GStreamer lays out a format.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <random>

namespace sapnet::testing {

// A system-memory buffer of `info`'s size (rows padded as GstVideoInfo says) filled with random
// bytes from `seed`.
inline GstBuffer *random_video_buffer(const GstVideoInfo &info, unsigned seed) {
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  std::mt19937 rng(seed);
  for (gsize i = 0; i < map.size; ++i) map.data[i] = rng() % 256;
  gst_buffer_unmap(buf, &map);
  return buf;
}

}  // namespace sapnet::testing
