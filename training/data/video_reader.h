// Frames of a video one at a time, from a video file (OpenCV's decoders) or a folder of images
// taken in natural name order, optionally shrunk: what the video evaluations read, without holding
// a whole clip in memory.
#pragma once

#include <memory>
#include <string>

#include "data/image.h"

namespace sapnet {

class VideoReader {
 public:
  // Throws sapnet::Error naming the path when it is neither a readable video nor a folder with
  // images, or when this build has no OpenCV.
  explicit VideoReader(const std::string &path, int max_side = 0);
  ~VideoReader();
  VideoReader(const VideoReader &) = delete;
  VideoReader &operator=(const VideoReader &) = delete;

  // The next frame as 8-bit RGB; false at the end. Throws sapnet::Error naming a bad image.
  bool next(RgbImage &frame);
  // Frames in the clip as the container says (a folder's image count; 0 when unknown).
  size_t frame_count() const;
  const std::string &path() const { return path_; }

 private:
  struct Impl;
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sapnet
