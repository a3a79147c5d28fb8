// sapnetsegment: runs a TorchScript semantic segmenter on each frame (sapnet::Segmenter) and
// attaches the class map as SapnetSegmentationMeta (sapnet_segmentation_meta.h).
#pragma once

#include "gstsapnetperceptionfilter.h"

G_BEGIN_DECLS

#define GST_TYPE_SAPNET_SEGMENT (gst_sapnet_segment_get_type())
G_DECLARE_FINAL_TYPE(GstSapnetSegment, gst_sapnet_segment, GST, SAPNET_SEGMENT,
                     GstSapnetPerceptionFilter)

GST_ELEMENT_REGISTER_DECLARE(sapnetsegment);

G_END_DECLS
