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

// The YUV matrix and range the caps give (GstVideoInfo fills in GStreamer's default when the caps
// name none: BT.601 for SD, BT.709 for HD). The Engine knows BT.601 and BT.709; another matrix
// (BT.2020, SMPTE 240M, FCC) is read as BT.601 and `exact`, when given, is set to false.
inline Colorimetry colorimetry_of(const GstVideoColorimetry &c, bool *exact = nullptr) {
  Colorimetry out;
  out.matrix = c.matrix == GST_VIDEO_COLOR_MATRIX_BT709 ? YuvMatrix::kBT709 : YuvMatrix::kBT601;
  out.range = c.range == GST_VIDEO_COLOR_RANGE_0_255 ? YuvRange::kFull : YuvRange::kLimited;
  if (exact)
    *exact = c.matrix == GST_VIDEO_COLOR_MATRIX_BT709 || c.matrix == GST_VIDEO_COLOR_MATRIX_BT601 ||
             c.matrix == GST_VIDEO_COLOR_MATRIX_UNKNOWN || c.matrix == GST_VIDEO_COLOR_MATRIX_RGB;
  return out;
}

// A view of a mapped frame's planes and strides (no copy), with the colorimetry of its caps.
inline FrameView view_of(GstVideoFrame *frame) {
  FrameView v;
  pixel_format_of(GST_VIDEO_FRAME_FORMAT(frame), &v.format);
  v.colorimetry = colorimetry_of(frame->info.colorimetry);
  v.width = GST_VIDEO_FRAME_WIDTH(frame);
  v.height = GST_VIDEO_FRAME_HEIGHT(frame);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(frame) && p < 3; ++p) {
    v.planes[p] = static_cast<uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(frame, p));
    v.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE(frame, p);
  }
  return v;
}

// Progressive frames only: an interlaced frame's two fields are two moments, which the network's
// wide convolutions and the temporal mode would blend (put a deinterlace element in front).
#define SAPNET_PROGRESSIVE ", interlace-mode = (string) progressive"
#define SAPNET_VIDEO_CAPS \
  GST_VIDEO_CAPS_MAKE("{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, NV12, I420 }") SAPNET_PROGRESSIVE

}  // namespace sapnet::gst
