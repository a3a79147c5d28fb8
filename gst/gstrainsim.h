// rainsim: adds synthetic rain to video with the synthesizer used for training.
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_RAIN_SIM (gst_rain_sim_get_type())
G_DECLARE_FINAL_TYPE(GstRainSim, gst_rain_sim, GST, RAIN_SIM, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(rainsim);

G_END_DECLS
