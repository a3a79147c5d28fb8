// sapnetderain: removes rain from video frames with a SAPNet model (model::Engine).
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_SAPNET_DERAIN (gst_sapnet_derain_get_type())
G_DECLARE_FINAL_TYPE(GstSapnetDerain, gst_sapnet_derain, GST, SAPNET_DERAIN, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(sapnetderain);

G_END_DECLS
