/* The metas of the sapnet elements, for applications: link libgstsapnetmeta-1.0
 * (pkg-config gstreamer-sapnet-meta-1.0) and include this header. Each meta has its own header;
 * a new meta is one more include here (and one more entry in gst/meta/meson.build's lists). */
#pragma once

#include "sapnet_rain_meta.h"
#include "sapnet_segmentation_meta.h"
