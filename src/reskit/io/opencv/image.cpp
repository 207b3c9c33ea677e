#include "reskit/io/opencv/image.h"

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>

#include "reskit/core/error.h"

namespace reskit::io {

at::Tensor load_imagenet_image(const std::string& path, int64_t resize_short, int64_t crop) {
  if (!std::filesystem::is_regular_file(path)) throw Error("image '" + path + "' does not exist");
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw Error("image '" + path + "' cannot be decoded");
  if (resize_short < crop) throw Error("--resize " + std::to_string(resize_short) + " is smaller than the crop " + std::to_string(crop));
  // torchvision: the short side becomes `resize_short`, the long one int(size * long / short).
  const int h = bgr.rows, w = bgr.cols;
  int new_h, new_w;
  if (h <= w) {
    new_h = static_cast<int>(resize_short);
    new_w = static_cast<int>(resize_short * w / h);
  } else {
    new_w = static_cast<int>(resize_short);
    new_h = static_cast<int>(resize_short * h / w);
  }
  cv::Mat resized;
  // Area averaging approximates PIL's antialiased bilinear when shrinking.
  cv::resize(bgr, resized, cv::Size(new_w, new_h), 0, 0, new_h < h ? cv::INTER_AREA : cv::INTER_LINEAR);
  const int top = static_cast<int>(std::lround((new_h - crop) / 2.0));
  const int left = static_cast<int>(std::lround((new_w - crop) / 2.0));
  cv::Mat cropped = resized(cv::Rect(left, top, static_cast<int>(crop), static_cast<int>(crop)));
  cv::Mat rgb;
  cv::cvtColor(cropped, rgb, cv::COLOR_BGR2RGB);
  cv::Mat as_float;
  rgb.convertTo(as_float, CV_32FC3, 1.0 / 255.0);

  at::Tensor hwc = at::from_blob(as_float.data, {crop, crop, 3}, at::kFloat).clone();
  at::Tensor chw = hwc.permute({2, 0, 1});
  const at::Tensor mean = at::tensor({0.485f, 0.456f, 0.406f}).view({3, 1, 1});
  const at::Tensor std = at::tensor({0.229f, 0.224f, 0.225f}).view({3, 1, 1});
  return ((chw - mean) / std).unsqueeze(0).contiguous();
}

std::string opencv_version() { return CV_VERSION; }

}  // namespace reskit::io
