// Where training patches come from: paired folders, clean images with synthesized rain, or a packed
// patch file (no image decoder needed). Every source is deterministic for (index, seed), so an
// epoch is reproducible and resumable from its seed alone.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/paired_folder.h"

namespace sapnet {

class PatchSource {
 public:
  virtual ~PatchSource() = default;
  virtual size_t size() const = 0;  // patches per epoch
  virtual int patch_size() const = 0;
  // Fills 3 x P x P planar RGB floats in [0, 1]; `seed` drives crop jitter, flips and rain.
  virtual void get(size_t index, uint64_t seed, float *rainy, float *clean) const = 0;
  virtual std::string describe() const = 0;
};

struct SourceOptions {
  int patch = 100;            // patch side
  int stride = 80;            // grid step; one epoch visits every grid position once
  bool skip_bad = false;      // warn and skip unreadable or mismatched images instead of failing
  double heavy_fraction = 0;  // share of synthesized patches that get heavy rain
};

// Pairs of rainy/clean images (sizes must match).
std::unique_ptr<PatchSource> make_paired_source(const std::vector<ImagePair> &pairs,
                                                const SourceOptions &opts);
// Clean images; rain is synthesized on the fly with random parameters.
std::unique_ptr<PatchSource> make_synthetic_source(std::vector<RgbImage> clean,
                                                   const SourceOptions &opts,
                                                   const std::string &what);
// A file written by write_pack().
std::unique_ptr<PatchSource> make_packed_source(const std::string &path, double heavy_fraction = 0);

// Clean images from files, folders and videos (every `video_step`-th frame), shrunk so that the
// longer side is at most `max_side` (0 = as they are). Bad files: error, or a warning when
// `skip_bad`.
std::vector<RgbImage> load_clean_images(const std::vector<std::string> &paths, int video_step,
                                        bool skip_bad, int max_side = 0);

// Writes every patch of `source` (one epoch, seed 0) to `path`; with `clean_only`, stores only the
// clean patches and the reader synthesizes rain on the fly. Atomic (temporary file + rename).
void write_pack(const std::string &path, const PatchSource &source, bool clean_only,
                const std::function<void(size_t done, size_t total)> &progress = {});

}  // namespace sapnet
