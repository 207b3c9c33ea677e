#include "reskit/io/opencv/detection_image.h"

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"

namespace reskit::io {
namespace {

cv::Mat read_bgr(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw Error("image '" + path + "' does not exist");
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw Error("image '" + path + "' cannot be decoded");
  return bgr;
}

cv::Scalar colour(int64_t index) {
  // Well-separated hues, the same for a class in every picture.
  cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(static_cast<double>((index * 47) % 180), 220, 255)), bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  const cv::Vec3b c = bgr.at<cv::Vec3b>(0, 0);
  return cv::Scalar(c[0], c[1], c[2]);
}

}  // namespace

DetectionInput load_detection_input(const std::string& path, int64_t size, const std::array<float, 3>& bgr_means) {
  const cv::Mat bgr = read_bgr(path);
  cv::Mat resized, as_float;
  cv::resize(bgr, resized, cv::Size(static_cast<int>(size), static_cast<int>(size)), 0, 0, cv::INTER_LINEAR);
  resized.convertTo(as_float, CV_32FC3);
  at::Tensor hwc = at::from_blob(as_float.data, {size, size, 3}, at::kFloat);
  const at::Tensor means = at::tensor({bgr_means[0], bgr_means[1], bgr_means[2]});
  DetectionInput out;
  out.input = (hwc - means).permute({2, 0, 1}).unsqueeze(0).contiguous();
  out.width = bgr.cols;
  out.height = bgr.rows;
  return out;
}

void write_labelled_image(const std::string& image_path, const std::string& out_path,
                          const std::vector<LabelledBox>& boxes) {
  cv::Mat canvas = read_bgr(image_path);
  const int thickness = std::max(1, std::min(canvas.cols, canvas.rows) / 300);
  const double font_scale = std::max(0.4, std::min(canvas.cols, canvas.rows) / 800.0);
  for (const LabelledBox& b : boxes) {
    const cv::Scalar c = colour(b.colour_index);
    const cv::Point p1(static_cast<int>(b.box[0]), static_cast<int>(b.box[1]));
    const cv::Point p2(static_cast<int>(b.box[2]), static_cast<int>(b.box[3]));
    cv::rectangle(canvas, p1, p2, c, thickness);
    int baseline = 0;
    const cv::Size text = cv::getTextSize(b.text, cv::FONT_HERSHEY_SIMPLEX, font_scale, 1, &baseline);
    const cv::Point origin(p1.x, std::max(text.height + 2, p1.y - 2));
    cv::rectangle(canvas, cv::Point(origin.x, origin.y - text.height - 2), cv::Point(origin.x + text.width, origin.y + baseline),
                  c, cv::FILLED);
    cv::putText(canvas, b.text, origin, cv::FONT_HERSHEY_SIMPLEX, font_scale, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  std::vector<uchar> encoded;
  const std::string ext = std::filesystem::path(out_path).extension().string();
  bool ok = false;
  try {
    ok = cv::imencode(ext.empty() ? ".png" : ext, canvas, encoded);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) throw Error("cannot encode '" + out_path + "': use an image extension such as .jpg or .png");
  AtomicFile file(out_path);
  file.stream().write(reinterpret_cast<const char*>(encoded.data()), static_cast<std::streamsize>(encoded.size()));
  file.commit();
}

}  // namespace reskit::io
