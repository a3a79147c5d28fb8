// The Engine without GStreamer: derains an RGB image held in memory with libsapnet.
//   c++ -std=c++17 derain_image.cpp $(pkg-config --cflags --libs sapnet) -o derain_image
//   ./derain_image rainy.ppm derained.ppm [--model FILE] [--stages N]
// Images are binary PPM (P6), the simplest RGB file, so that the example needs no image library:
// the Engine takes any buffer of RGB/BGR/RGBA/BGRA/RGBx/BGRx/NV12/I420 bytes with a row stride.
#include <sapnet/engine.h>
#include <sapnet/error.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // rows of width * 3 bytes
};

Image read_ppm(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::string magic;
  int maxval = 0;
  Image image;
  in >> magic >> image.width >> image.height >> maxval;
  in.get();  // the one whitespace byte before the pixels
  if (!in || magic != "P6" || maxval != 255 || image.width <= 0 || image.height <= 0)
    throw sapnet::Error(path + ": not an 8-bit binary PPM (P6)");
  image.rgb.resize(size_t(image.width) * image.height * 3);
  if (!in.read(reinterpret_cast<char *>(image.rgb.data()), std::streamsize(image.rgb.size())))
    throw sapnet::Error(path + ": the PPM is shorter than its size says");
  return image;
}

void write_ppm(const std::string &path, const Image &image) {
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << image.width << ' ' << image.height << "\n255\n";
  out.write(reinterpret_cast<const char *>(image.rgb.data()), std::streamsize(image.rgb.size()));
  if (!out.flush()) throw sapnet::Error(path + ": cannot write");
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN.ppm OUT.ppm [--model FILE] [--stages N]\n", argv[0]);
    return 2;
  }
  sapnet::EngineOptions options;  // the installed default model, on the CPU
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) options.model_path = argv[i + 1];
    if (!std::strcmp(argv[i], "--stages")) options.stages = std::atoi(argv[i + 1]);
  }
  try {
    Image image = read_ppm(argv[1]);
    sapnet::Engine engine(options);
    // A view of the bytes where they are; the output may be the input (derained in place).
    const sapnet::FrameView frame = sapnet::FrameView::packed(
        sapnet::PixelFormat::kRGB, image.rgb.data(), image.width, image.height);
    engine.process(frame, frame);
    write_ppm(argv[2], image);
    std::printf("sapnet %s: derained %dx%d, %d stage(s) on %s, model %s\n", sapnet::version(),
                image.width, image.height, engine.stages(), engine.device().c_str(),
                engine.model_path().c_str());
    return 0;
  } catch (const sapnet::Error &e) {  // what the library refuses, said so that a user can act
    std::fprintf(stderr, "derain_image: %s\n", e.what());
    return 1;
  } catch (const std::exception &e) {  // anything else (out of memory, ...)
    std::fprintf(stderr, "derain_image: unexpected failure: %s\n", e.what());
    return 1;
  }
}
