// The GStreamer plugin "sapnet": registers its elements.
#include <gst/gst.h>

#include "gstrainsim.h"
#include "gstsapnetderain.h"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(sapnetderain, plugin);
  ok |= GST_ELEMENT_REGISTER(rainsim, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, sapnet,
                  "Rain removal (SAPNet) and rain simulation for video", plugin_init,
                  SAPNET_VERSION, "LGPL", "sapnet", "https://github.com/sapnet/sapnet")
