#include "reskit/io/opencv/video_frames.h"

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "reskit/core/error.h"
#include "reskit/io/image_files.h"

namespace reskit::io {

struct VideoFrames::Capture {
  cv::VideoCapture video;
};

namespace {

at::Tensor resized_rgb(const cv::Mat& bgr, const VideoFrames::TargetSize& size) {
  const auto [w, h] = size(bgr.cols, bgr.rows);
  at::Tensor out = at::empty({h, w, 3}, at::kByte);
  cv::Mat rgb(static_cast<int>(h), static_cast<int>(w), CV_8UC3, out.data_ptr());
  cv::Mat scaled;
  if (w == bgr.cols && h == bgr.rows)
    scaled = bgr;
  else
    cv::resize(bgr, scaled, cv::Size(static_cast<int>(w), static_cast<int>(h)), 0, 0, cv::INTER_LINEAR);
  cv::cvtColor(scaled, rgb, cv::COLOR_BGR2RGB);
  return out;
}

}  // namespace

VideoFrames::VideoFrames(const std::string& path) : path_(path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    images_ = list_images(path);
    count_ = static_cast<int64_t>(images_.size());
    return;
  }
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("'" + path + "' does not exist");
  if (std::filesystem::file_size(path, ec) == 0) throw Error("'" + path + "': the file is empty");
  capture_ = std::make_unique<Capture>();
  if (!capture_->video.open(path) || !capture_->video.isOpened())
    throw Error("'" + path + "': OpenCV cannot read it as a video");
  const double frames = capture_->video.get(cv::CAP_PROP_FRAME_COUNT);
  count_ = std::isfinite(frames) ? static_cast<int64_t>(std::llround(frames)) : 0;
  if (count_ < 1) throw Error("'" + path + "': the video has no frames");
}

VideoFrames::~VideoFrames() = default;

void VideoFrames::read(const std::vector<int64_t>& indices, const TargetSize& size,
                       const std::function<void(int64_t, const at::Tensor&)>& use) {
  if (!capture_) {
    for (int64_t i : indices) {
      const cv::Mat image = cv::imread(images_.at(static_cast<size_t>(i)), cv::IMREAD_COLOR);
      if (image.empty()) throw Error("'" + images_[static_cast<size_t>(i)] + "': OpenCV cannot read the image");
      use(i, resized_rgb(image, size));
    }
    return;
  }
  cv::VideoCapture& video = capture_->video;
  video.set(cv::CAP_PROP_POS_FRAMES, 0);
  cv::Mat frame, last;
  int64_t position = 0;  // the index the next read returns
  bool ended = false;
  for (int64_t want : indices) {
    while (!ended && position < want) {
      ended = !video.grab();
      if (!ended) ++position;
    }
    if (!ended) {
      ended = !video.read(frame);
      if (!ended) {
        ++position;
        last = frame.clone();  // the next read may reuse frame's buffer
      }
    }
    if (last.empty()) throw Error("'" + path_ + "': OpenCV could not decode a frame of the video");
    use(want, resized_rgb(last, size));
  }
}

}  // namespace reskit::io
