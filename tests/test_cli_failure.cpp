// `sapnet` turns every exception into one line (main.cpp prints failure_message): LibTorch's
// errors lose their backtrace, out-of-memory gets advice, JSON errors and foreign types are named.
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/failure.h"
#include "error.h"

namespace sapnet::cli {
namespace {

template <typename Throw>
std::string message_of(Throw &&raise) {
  try {
    raise();
  } catch (...) {
    return failure_message(std::current_exception());
  }
  ADD_FAILURE() << "nothing was thrown";
  return "";
}

TEST(CliFailure, LibTorchErrorsBecomeOneLine) {
  const std::string m = message_of([] { TORCH_CHECK(false, "shapes do not match"); });
  EXPECT_NE(m.find("shapes do not match"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;  // c10::Error's backtrace is cut off
}

TEST(CliFailure, CudaOutOfMemoryGetsAdvice) {
  const std::string m = message_of([] {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "CUDA out of memory. Tried to allocate 9.00 GiB");
  });
  EXPECT_NE(m.find("CUDA out of memory"), std::string::npos) << m;
  EXPECT_NE(m.find("--tile-size"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

TEST(CliFailure, JsonErrorsAndForeignTypesAreNamed) {
  const std::string json = message_of([] { const auto j = nlohmann::json::parse("{\"a\": "); });
  EXPECT_NE(json.find("parse error"), std::string::npos) << json;
  const std::string foreign = message_of([] { throw 42; });
  EXPECT_NE(foreign.find("unknown error"), std::string::npos) << foreign;
  EXPECT_EQ(message_of([] { throw Error("model.sapnet: truncated"); }), "model.sapnet: truncated");
  EXPECT_NE(message_of([] { throw std::bad_alloc(); }).find("--tile-size"), std::string::npos);
}

}  // namespace
}  // namespace sapnet::cli
