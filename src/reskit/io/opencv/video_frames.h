#pragma once
// The frames of a video file, or of a directory of images taken in name
// order, read through OpenCV one at a time: a caller asks for the indices it
// needs and gets each frame once, so a long video is never held in memory.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace reskit::io {

class VideoFrames {
 public:
  // A video file or a directory of images; an unreadable, empty or frameless
  // source is a one-line error naming it.
  explicit VideoFrames(const std::string& path);
  ~VideoFrames();
  VideoFrames(const VideoFrames&) = delete;
  VideoFrames& operator=(const VideoFrames&) = delete;

  // The container's frame count (OpenCV's CAP_PROP_FRAME_COUNT, as mmcv's
  // VideoReader has it), or the number of images.
  int64_t frame_count() const { return count_; }
  const std::string& path() const { return path_; }

  // Width and height a frame of the given width and height is resized to.
  using TargetSize = std::function<std::pair<int64_t, int64_t>(int64_t, int64_t)>;

  // Calls `use(index, rgb)` for each of `indices` (ascending, unique), with
  // the frame resized bilinearly (OpenCV's INTER_LINEAR on uint8, as mmcv's
  // imresize) to `size` and turned RGB: H x W x 3 uint8. A video is decoded
  // in order; an index past the frames it really holds gets the last frame
  // decoded, as mmaction2's OpenCVDecode falls back to earlier ones.
  void read(const std::vector<int64_t>& indices, const TargetSize& size,
            const std::function<void(int64_t, const at::Tensor&)>& use);

 private:
  std::string path_;
  int64_t count_ = 0;
  std::vector<std::string> images_;  // a directory's images, in name order
  struct Capture;
  std::unique_ptr<Capture> capture_;
};

}  // namespace reskit::io
