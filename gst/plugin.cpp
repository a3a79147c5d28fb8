// The GStreamer plugin "sapnet": registers its elements.
#include <gst/gst.h>

#include "gstframelimit.h"
#include "gstrainsim.h"
#include "gstsapnetderain.h"
#include "perception/gstsapnetdetect.h"
#include "perception/gstsapnetsegment.h"
#include "meta/sapnet_rain_meta.h"
#include "perception/sapnet_segmentation_meta.h"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(sapnetderain, plugin);
  ok |= GST_ELEMENT_REGISTER(rainsim, plugin);
  ok |= GST_ELEMENT_REGISTER(sapnetdetect, plugin);
  ok |= GST_ELEMENT_REGISTER(sapnetsegment, plugin);
  ok |= GST_ELEMENT_REGISTER(framelimit, plugin);
  // The API type downstream code looks up by name (sapnet_segmentation_meta.h, sapnet_rain_meta.h).
  sapnet_segmentation_meta_get_info();
  sapnet_rain_meta_get_info();
  return ok;
}

GST_PLUGIN_DEFINE(
    GST_VERSION_MAJOR, GST_VERSION_MINOR, sapnet,
    "Rain removal (SAPNet), rain simulation, and TorchScript detection and segmentation for video",
    plugin_init, SAPNET_VERSION, "LGPL", "sapnet", "https://github.com/sapnet/sapnet")
