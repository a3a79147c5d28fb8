// GstVideoFrame -> sapnet::FrameView: the only place the element touches pixel layouts.
#pragma once

#include <gst/video/video.h>

#include "frame.h"

namespace sapnet::gst {

// False for a format the Engine does not take.
inline bool pixel_format_of(GstVideoFormat f, PixelFormat *out) {
  switch (f) {
    case GST_VIDEO_FORMAT_RGB:
      *out = PixelFormat::kRGB;
      return true;
    case GST_VIDEO_FORMAT_BGR:
      *out = PixelFormat::kBGR;
      return true;
    case GST_VIDEO_FORMAT_RGBA:
      *out = PixelFormat::kRGBA;
      return true;
    case GST_VIDEO_FORMAT_BGRA:
      *out = PixelFormat::kBGRA;
      return true;
    case GST_VIDEO_FORMAT_RGBx:
      *out = PixelFormat::kRGBx;
      return true;
    case GST_VIDEO_FORMAT_BGRx:
      *out = PixelFormat::kBGRx;
      return true;
    case GST_VIDEO_FORMAT_NV12:
      *out = PixelFormat::kNV12;
      return true;
    case GST_VIDEO_FORMAT_I420:
      *out = PixelFormat::kI420;
      return true;
    default:
      return false;
  }
}

// A view of a mapped frame's planes and strides (no copy).
inline FrameView view_of(GstVideoFrame *frame) {
  FrameView v;
  pixel_format_of(GST_VIDEO_FRAME_FORMAT(frame), &v.format);
  v.width = GST_VIDEO_FRAME_WIDTH(frame);
  v.height = GST_VIDEO_FRAME_HEIGHT(frame);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(frame) && p < 3; ++p) {
    v.planes[p] = static_cast<uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(frame, p));
    v.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE(frame, p);
  }
  return v;
}

#define SAPNET_VIDEO_CAPS GST_VIDEO_CAPS_MAKE("{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, NV12, I420 }")

}  // namespace sapnet::gst
