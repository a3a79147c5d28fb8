// A buffer too short for the frame its caps describe (an application that packs RGB rows without
// GStreamer's 4-byte row padding, a truncated appsrc buffer) cannot be mapped as a video frame.
// GstVideoFilter then only warns and lets the buffer through: untouched by an in-place element,
// unwritten (an old frame, or garbage) from a copying one. Each element checks first instead.
#pragma once

#include <gst/video/video.h>

namespace sapnet::gst {

// True when `buffer` holds a frame of `info`; otherwise posts a stream error that gives both sizes
// and returns false. A size comparison, not a mapping (which would be done twice per frame, and
// would copy CUDA memory to the host): a buffer with a GstVideoMeta carries its own layout, which
// the frame mapping checks.
inline bool frame_fits(GstElement *element, GstBuffer *buffer, GstVideoInfo *info) {
  if (gst_buffer_get_video_meta(buffer) || gst_buffer_get_size(buffer) >= GST_VIDEO_INFO_SIZE(info))
    return true;
  GST_ELEMENT_ERROR(
      element, STREAM, FORMAT,
      ("The buffer holds %" G_GSIZE_FORMAT " bytes; a %dx%d %s frame as the caps "
       "describe it needs %" G_GSIZE_FORMAT " (rows padded to 4 bytes, unless a "
       "GstVideoMeta gives the layout).",
       gst_buffer_get_size(buffer), GST_VIDEO_INFO_WIDTH(info), GST_VIDEO_INFO_HEIGHT(info),
       GST_VIDEO_INFO_NAME(info), GST_VIDEO_INFO_SIZE(info)),
      (nullptr));
  return false;
}

}  // namespace sapnet::gst
