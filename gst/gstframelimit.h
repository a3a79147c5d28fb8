// framelimit: passes the first N buffers of a stream, then ends it (EOS) and drops the rest.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_FRAME_LIMIT (gst_frame_limit_get_type())
G_DECLARE_FINAL_TYPE(GstFrameLimit, gst_frame_limit, GST, FRAME_LIMIT, GstElement)

GST_ELEMENT_REGISTER_DECLARE(framelimit);

G_END_DECLS
