// Runs a gst-launch description to its end in the test process, for tests of element errors.
#pragma once

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <string>

namespace sapnet::testing {

// Runs a pipeline to EOS or the first error; returns that error's message and debug detail
// ("message | debug"), "" at EOS, or a note when neither came within `seconds`.
inline std::string run_error(const std::string &launch, int seconds = 30) {
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(launch.c_str(), &err);
  EXPECT_EQ(err, nullptr) << launch;
  if (err) g_error_free(err);
  if (!pipe) return "no pipeline";
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipe);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, seconds * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  std::string msg = m ? "" : "no EOS within " + std::to_string(seconds) + " s";
  if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    GError *e = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(m, &e, &dbg);
    msg = std::string(e->message) + " | " + (dbg ? dbg : "");
    g_error_free(e);
    g_free(dbg);
  }
  if (m) gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  return msg;
}

}  // namespace sapnet::testing
