// Writes the tiny TorchScript detector and segmenter of perception_fixtures.h into a folder, so
// that the install tests run the example apps on real models without a download:
// detector.pt always finds class 2 with score 0.8 in the middle half of the frame; segmenter.pt
// gives class 0 on the left half, 1 top right, 2 bottom right.
#include <cstdio>
#include <exception>
#include <string>

#include "../perception_fixtures.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  try {
    const std::string dir = argv[1];
    sapnet::testing::save_module(dir + "/detector.pt", sapnet::testing::kTupleDetector);
    sapnet::testing::save_module(dir + "/segmenter.pt", sapnet::testing::segmenter_source(false));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "make_fixture_models: %s\n", e.what());
    return 1;
  }
  return 0;
}
