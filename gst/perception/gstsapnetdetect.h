// sapnetdetect: runs a TorchScript object detector on each frame (sapnet::Detector) and attaches
// the boxes as GstVideoRegionOfInterestMeta.
#pragma once

#include "gstsapnetperceptionfilter.h"

G_BEGIN_DECLS

#define GST_TYPE_SAPNET_DETECT (gst_sapnet_detect_get_type())
G_DECLARE_FINAL_TYPE(GstSapnetDetect, gst_sapnet_detect, GST, SAPNET_DETECT,
                     GstSapnetPerceptionFilter)

GST_ELEMENT_REGISTER_DECLARE(sapnetdetect);

G_END_DECLS
