// model/device.h: the one parser of device and precision names.
#include <gtest/gtest.h>

#include "device.h"
#include "error.h"

namespace sapnet {
namespace {

TEST(Device, NamesParseToOneType) {
  EXPECT_EQ(parse_device("cpu"), Device{});
  EXPECT_EQ(parse_device("cpu").str(), "cpu");
  const Device automatic = parse_device("auto");
  EXPECT_EQ(automatic.cuda, cuda_available());
  EXPECT_EQ(parse_device(""), automatic);
  if (cuda_available()) {
    EXPECT_EQ(parse_device("cuda"), (Device{true, 0}));
    EXPECT_EQ(parse_device("cuda:0").str(), "cuda:0");
  }
}

TEST(Device, UnknownOrUnavailableNamesSayWhy_n) {
  for (const char *name : {"tpu", "CPU", "cuda:", "cuda:x", "cuda:-1", "cuda:1x", "gpu:0"}) {
    try {
      parse_device(name);
      FAIL() << name;
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + name + "'"), std::string::npos)
          << e.what();
    }
  }
  if (!cuda_available()) {
    for (const char *name : {"cuda", "cuda:0", "cuda:3"}) {
      try {
        parse_device(name);
        FAIL() << name;
      } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
      }
    }
  }
}

TEST(Precision, NamesRoundTripAndResolvePerDevice) {
  for (Precision p : {Precision::kAuto, Precision::kFp32, Precision::kFp16, Precision::kBf16})
    EXPECT_EQ(parse_precision(precision_name(p)), p);
  EXPECT_STREQ(precision_name(Precision::kBf16), "bf16");
  EXPECT_THROW(parse_precision("fp64"), Error);
  EXPECT_THROW(parse_precision("FP16"), Error);
  const Device cpu, gpu{true, 0};
  EXPECT_EQ(resolve_precision(Precision::kAuto, cpu), Precision::kFp32);
  EXPECT_EQ(resolve_precision(Precision::kAuto, gpu), Precision::kFp16);
  EXPECT_EQ(resolve_precision(Precision::kBf16, gpu), Precision::kBf16);
  EXPECT_EQ(resolve_precision(Precision::kFp32, cpu), Precision::kFp32);
  EXPECT_THROW(resolve_precision(Precision::kFp16, cpu), Error);
  EXPECT_THROW(resolve_precision(Precision::kBf16, cpu), Error);
}

}  // namespace
}  // namespace sapnet
