// Properties flagged GST_PARAM_CONTROLLABLE follow a GstControlBinding only when the element asks
// for the values of the frame's time: GstBaseTransform never does, so each element calls this
// before a frame reads its settings.
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

namespace sapnet::gst {

inline void sync_controlled_properties(GstBaseTransform *trans, GstBuffer *buffer) {
  // Control sources are functions of time: frames without a time (a byte segment from appsrc, no
  // timestamp) keep the values set last.
  if (trans->segment.format != GST_FORMAT_TIME || !GST_BUFFER_PTS_IS_VALID(buffer)) return;
  const GstClockTime stream_time =
      gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  if (GST_CLOCK_TIME_IS_VALID(stream_time)) gst_object_sync_values(GST_OBJECT(trans), stream_time);
}

}  // namespace sapnet::gst
