#pragma once
// What the tracker reads and writes through OpenCV: BGR frames one at a
// time from a video file, a camera or a directory of images (name order);
// the tracker's crops; a box drawn by the user; frames with boxes drawn,
// written as a video or as images.
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reskit/io/image_files.h"  // list_images

namespace reskit::io {

// H x W x 3 uint8 BGR, as cv::imread(path, IMREAD_COLOR); a missing or
// undecodable file is a one-line error naming it.
at::Tensor read_bgr_image(const std::string& path);

class FrameSource {
 public:
  // A video file, a camera index ("0"), or a directory of images.
  static FrameSource open(const std::string& source, bool is_directory);
  ~FrameSource();
  FrameSource(FrameSource&&) noexcept;
  // The next frame (H x W x 3 uint8 BGR), or an undefined tensor at the end.
  at::Tensor next();
  // Frames in the source when known (a camera: -1).
  int64_t frame_count() const { return count_; }
  double fps() const { return fps_; }
  const std::string& name() const { return name_; }

 private:
  FrameSource() = default;
  struct Capture;
  std::unique_ptr<Capture> capture_;
  std::vector<std::string> images_;
  size_t next_image_ = 0;
  int64_t count_ = -1;
  double fps_ = 0;
  std::string name_;
};

// The square of side original_sz around (cx, cy) (its corner at c - (sz + 1)
// / 2, rounded half up), filled where it leaves the image with
// `average` truncated to uint8, resized as uint8 (INTER_LINEAR) to model_sz
// unless already that size: 1 x 3 x model_sz x model_sz float32, BGR 0-255.
at::Tensor crop_subwindow(const at::Tensor& image, double cx, double cy, int64_t model_sz, int64_t original_sz,
                          const std::array<double, 3>& average);

// Whether a window can be shown (a display, and an OpenCV with a GUI).
bool can_show_windows();
// The user drags a box on the frame (OpenCV's selectROI); x, y, w, h, or an
// error when the selection was cancelled or empty.
std::array<double, 4> select_box(const at::Tensor& image, const std::string& title);

// Frames with a box drawn on each: to a video file (.mp4, .avi: its
// extension picks the codec) or to a directory of PNG images 0001.png...
// Written beside the target and moved into place by commit(): an error
// leaves nothing half-written (a killed process leaves <stem>.partial.<pid>).
class BoxRenderer {
 public:
  BoxRenderer(const std::string& target, double fps);
  ~BoxRenderer();
  void add(const at::Tensor& image, const std::array<double, 4>& box, const std::string& caption);
  void commit();

 private:
  struct Writer;
  std::unique_ptr<Writer> writer_;
};

}  // namespace reskit::io
