#include "data/patch_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "atomic_file.h"
#include "data/video_reader.h"
#include "error.h"
#include "rain.h"

namespace sapnet {
namespace {

constexpr char kPackMagic[8] = {'S', 'A', 'P', 'N', 'E', 'T', 'P', 'K'};
constexpr uint32_t kPackVersion = 1;

struct PackHeader {
  char magic[8];
  uint32_t version;
  uint32_t patch;
  uint64_t count;
  uint32_t clean_only;
  uint32_t reserved;
};

// A grid position (image, x, y) of a patch.
struct Cell {
  uint32_t image;
  int x, y;
};

std::vector<Cell> grid(const std::vector<std::pair<int, int>> &sizes, int patch, int stride) {
  std::vector<Cell> cells;
  for (uint32_t i = 0; i < sizes.size(); ++i)
    for (int y = 0; y + patch <= sizes[i].second; y += stride)
      for (int x = 0; x + patch <= sizes[i].first; x += stride) cells.push_back({i, x, y});
  return cells;
}

// Crops a P x P patch at (x, y) from an interleaved RGB image into planar floats, mirrored when
// `flip`.
void crop(const RgbImage &img, int x, int y, int p, bool flip, float *out) {
  const size_t plane = size_t(p) * p;
  for (int r = 0; r < p; ++r) {
    const uint8_t *row = &img.pixels[(size_t(y + r) * img.width + x) * 3];
    for (int c = 0; c < p; ++c) {
      const int sc = flip ? p - 1 - c : c;
      for (int ch = 0; ch < 3; ++ch)
        out[ch * plane + size_t(r) * p + c] = row[sc * 3 + ch] / 255.0f;
    }
  }
}

// Jitters a grid position by up to half a stride, staying inside the image.
void jitter(std::mt19937_64 &rng, int stride, int limit_x, int limit_y, int *x, int *y) {
  const int j = stride / 2;
  if (j > 0) {
    *x = std::clamp(*x + static_cast<int>(rng() % (2 * j + 1)) - j, 0, limit_x);
    *y = std::clamp(*y + static_cast<int>(rng() % (2 * j + 1)) - j, 0, limit_y);
  }
}

void warn(const std::string &msg) {
  std::fprintf(stderr, "sapnet: warning: %s\n", msg.c_str());
}

class PairedSource : public PatchSource {
 public:
  PairedSource(const std::vector<ImagePair> &pairs, const SourceOptions &opts) : opts_(opts) {
    std::vector<std::pair<int, int>> sizes;
    for (const auto &p : pairs) {
      try {
        RgbImage r = read_image(p.rainy), c = read_image(p.clean);
        if (r.width != c.width || r.height != c.height)
          throw Error(p.rainy + " (" + std::to_string(r.width) + "x" + std::to_string(r.height) +
                      ") and " + p.clean + " (" + std::to_string(c.width) + "x" +
                      std::to_string(c.height) + ") differ in size");
        if (r.width < opts.patch || r.height < opts.patch)
          throw Error(p.rainy + " is smaller than the " + std::to_string(opts.patch) +
                      "-pixel patch");
        sizes.emplace_back(r.width, r.height);
        rainy_.push_back(std::move(r));
        clean_.push_back(std::move(c));
      } catch (const Error &e) {
        if (!opts.skip_bad) throw;
        warn(std::string("skipped: ") + e.what());
      }
    }
    cells_ = grid(sizes, opts.patch, opts.stride);
    if (cells_.empty()) throw Error("no training patches: no usable image pairs");
  }
  size_t size() const override { return cells_.size(); }
  int patch_size() const override { return opts_.patch; }
  std::string describe() const override {
    return std::to_string(rainy_.size()) + " image pairs, " + std::to_string(cells_.size()) +
           " patches";
  }
  void get(size_t index, uint64_t seed, float *rainy, float *clean) const override {
    const Cell &c = cells_.at(index);
    std::mt19937_64 rng(seed);
    const RgbImage &r = rainy_[c.image];
    int x = c.x, y = c.y;
    jitter(rng, opts_.stride, r.width - opts_.patch, r.height - opts_.patch, &x, &y);
    const bool flip = rng() & 1;
    crop(r, x, y, opts_.patch, flip, rainy);
    crop(clean_[c.image], x, y, opts_.patch, flip, clean);
  }

 private:
  SourceOptions opts_;
  std::vector<RgbImage> rainy_, clean_;
  std::vector<Cell> cells_;
};

class SyntheticSource : public PatchSource {
 public:
  SyntheticSource(std::vector<RgbImage> clean, const SourceOptions &opts, std::string what)
      : opts_(opts), clean_(std::move(clean)), what_(std::move(what)) {
    std::vector<std::pair<int, int>> sizes;
    for (auto &c : clean_) sizes.emplace_back(c.width, c.height);
    cells_ = grid(sizes, opts.patch, opts.stride);
    if (clean_.empty()) throw Error("no training patches: no clean image found in " + what_);
    if (cells_.empty()) throw Error("no training patches: no clean image is as large as a patch");
  }
  size_t size() const override { return cells_.size(); }
  int patch_size() const override { return opts_.patch; }
  std::string describe() const override {
    return std::to_string(clean_.size()) + " clean images (" + what_ + ") with synthesized rain, " +
           std::to_string(cells_.size()) + " patches";
  }
  void get(size_t index, uint64_t seed, float *rainy, float *clean) const override {
    const Cell &c = cells_.at(index);
    std::mt19937_64 rng(seed);
    const RgbImage &img = clean_[c.image];
    int x = c.x, y = c.y;
    jitter(rng, opts_.stride, img.width - opts_.patch, img.height - opts_.patch, &x, &y);
    crop(img, x, y, opts_.patch, rng() & 1, clean);
    std::copy(clean, clean + 3 * opts_.patch * opts_.patch, rainy);
    add_rain(rainy, opts_.patch, opts_.patch, sample_training_rain(rng, opts_.heavy_fraction),
             rng());
  }

 private:
  SourceOptions opts_;
  std::vector<RgbImage> clean_;
  std::vector<Cell> cells_;
  std::string what_;
};

class PackedSource : public PatchSource {
 public:
  PackedSource(const std::string &path, double heavy_fraction)
      : path_(path), heavy_fraction_(heavy_fraction) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) throw Error(path + ": cannot open pack file (" + std::strerror(errno) + ")");
    struct stat st {};
    ::fstat(fd_, &st);
    bytes_ = static_cast<size_t>(st.st_size);
    if (bytes_ < sizeof(PackHeader)) throw Error(path + ": not a sapnet pack file (too short)");
    map_ = ::mmap(nullptr, bytes_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (map_ == MAP_FAILED) throw Error(path + ": cannot map pack file");
    std::memcpy(&header_, map_, sizeof header_);
    if (std::memcmp(header_.magic, kPackMagic, 8) != 0)
      throw Error(path + ": not a sapnet pack file");
    if (header_.version != kPackVersion)
      throw Error(path + ": pack version " + std::to_string(header_.version) + " is not supported");
    const size_t expected = sizeof(PackHeader) + header_.count * record_bytes();
    if (header_.patch == 0 || bytes_ != expected)
      throw Error(path + ": pack file is " + std::to_string(bytes_) + " bytes, header says " +
                  std::to_string(expected) + " (truncated?)");
  }
  ~PackedSource() override {
    if (map_ && map_ != MAP_FAILED) ::munmap(map_, bytes_);
    if (fd_ >= 0) ::close(fd_);
  }
  size_t size() const override { return header_.count; }
  int patch_size() const override { return static_cast<int>(header_.patch); }
  std::string describe() const override {
    return std::filesystem::path(path_).filename().string() + ": " + std::to_string(header_.count) +
           " packed patches" +
           (header_.clean_only ? " (clean, rain synthesized on the fly)" : " (pairs)");
  }
  void get(size_t index, uint64_t seed, float *rainy, float *clean) const override {
    if (index >= header_.count) throw Error("pack index out of range");
    const size_t n = 3 * size_t(header_.patch) * header_.patch;
    const uint8_t *rec =
        static_cast<const uint8_t *>(map_) + sizeof(PackHeader) + index * record_bytes();
    std::mt19937_64 rng(seed);
    const bool flip = rng() & 1;
    const int p = static_cast<int>(header_.patch);
    auto unpack = [&](const uint8_t *src, float *dst) {
      for (int ch = 0; ch < 3; ++ch)
        for (int r = 0; r < p; ++r)
          for (int c = 0; c < p; ++c)
            dst[(size_t(ch) * p + r) * p + c] =
                src[(size_t(ch) * p + r) * p + (flip ? p - 1 - c : c)] / 255.0f;
    };
    if (header_.clean_only) {
      unpack(rec, clean);
      std::copy(clean, clean + n, rainy);
      add_rain(rainy, p, p, sample_training_rain(rng, heavy_fraction_), rng());
    } else {
      unpack(rec, rainy);
      unpack(rec + n, clean);
    }
  }

 private:
  size_t record_bytes() const {
    return size_t(header_.clean_only ? 1 : 2) * 3 * header_.patch * header_.patch;
  }
  std::string path_;
  double heavy_fraction_ = 0;
  int fd_ = -1;
  void *map_ = nullptr;
  size_t bytes_ = 0;
  PackHeader header_{};
};

uint8_t to_u8(float v) {
  return static_cast<uint8_t>(std::clamp(v * 255.0f + 0.5f, 0.0f, 255.0f));
}

bool is_video(const std::string &path) {
  const std::string ext = lowercase_extension(path);
  return ext == ".avi" || ext == ".mp4" || ext == ".mkv" || ext == ".mov" || ext == ".webm";
}

}  // namespace

std::unique_ptr<PatchSource> make_paired_source(const std::vector<ImagePair> &pairs,
                                                const SourceOptions &opts) {
  return std::make_unique<PairedSource>(pairs, opts);
}

std::unique_ptr<PatchSource> make_synthetic_source(std::vector<RgbImage> clean,
                                                   const SourceOptions &opts,
                                                   const std::string &what) {
  return std::make_unique<SyntheticSource>(std::move(clean), opts, what);
}

std::unique_ptr<PatchSource> make_packed_source(const std::string &path, double heavy_fraction) {
  return std::make_unique<PackedSource>(path, heavy_fraction);
}

std::vector<RgbImage> load_clean_images(const std::vector<std::string> &paths, int video_step,
                                        bool skip_bad, int max_side) {
  std::vector<RgbImage> out;
  for (const auto &path : paths) {
    try {
      if (is_video(path)) {
        // Every video_step-th frame; only the frames kept are shrunk.
        VideoReader video(path);
        RgbImage frame;
        for (int i = 0; video.next(frame); ++i)
          if (i % std::max(1, video_step) == 0)
            out.push_back(shrink_image(std::move(frame), max_side));
        continue;
      }
      for (const auto &file : list_images(path)) {
        try {
          out.push_back(shrink_image(read_image(file), max_side));
        } catch (const Error &e) {
          if (!skip_bad) throw;
          warn(std::string("skipped: ") + e.what());
        }
      }
    } catch (const Error &e) {
      if (!skip_bad) throw;
      warn(std::string("skipped: ") + e.what());
    }
  }
  return out;
}

void write_pack(const std::string &path, const PatchSource &source, bool clean_only,
                const std::function<void(size_t, size_t)> &progress) {
  const int p = source.patch_size();
  const size_t n = 3 * size_t(p) * p;
  PackHeader h{};
  std::memcpy(h.magic, kPackMagic, 8);
  h.version = kPackVersion;
  h.patch = static_cast<uint32_t>(p);
  h.count = source.size();
  h.clean_only = clean_only;
  AtomicFile f(path);
  f.write(&h, sizeof h);
  std::vector<float> rainy(n), clean(n);
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < source.size() && !f.failed(); ++i) {
    source.get(i, i, rainy.data(), clean.data());
    if (!clean_only) {
      std::transform(rainy.begin(), rainy.end(), bytes.begin(), to_u8);
      f.write(bytes.data(), n);
    }
    std::transform(clean.begin(), clean.end(), bytes.begin(), to_u8);
    f.write(bytes.data(), n);
    if (progress) progress(i + 1, source.size());
  }
  f.commit();
}

}  // namespace sapnet
