// The GStreamer plugin "sapnet": registers its elements.
#include <gst/gst.h>

#include "gstframelimit.h"
#include "gstrainsim.h"
#include "gstsapnetderain.h"
#include "perception/gstsapnetdetect.h"
#include "perception/gstsapnetsegment.h"
#include "sapnetmeta.h"

// There is no public web page: the origin is the project's README (installed with the package).
#define SAPNET_PACKAGE_ORIGIN "sapnet project, see its README.md (installed in share/doc/sapnet)"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(sapnetderain, plugin);
  ok |= GST_ELEMENT_REGISTER(rainsim, plugin);
  ok |= GST_ELEMENT_REGISTER(sapnetdetect, plugin);
  ok |= GST_ELEMENT_REGISTER(sapnetsegment, plugin);
  ok |= GST_ELEMENT_REGISTER(framelimit, plugin);
  // Registered once the plugin loads, for code that looks the API type up by name.
  sapnet_segmentation_meta_get_info();
  sapnet_rain_meta_get_info();
  return ok;
}

GST_PLUGIN_DEFINE(
    GST_VERSION_MAJOR, GST_VERSION_MINOR, sapnet,
    "Rain removal (SAPNet), rain simulation, and TorchScript detection and segmentation for video",
    plugin_init, SAPNET_VERSION, "LGPL", "sapnet", SAPNET_PACKAGE_ORIGIN)
