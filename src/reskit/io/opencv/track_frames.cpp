#include "reskit/io/opencv/track_frames.h"

#include <ATen/ATen.h>
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "reskit/core/error.h"

namespace reskit::io {
namespace fs = std::filesystem;

namespace {

at::Tensor to_tensor(const cv::Mat& bgr) {
  at::Tensor out = at::empty({bgr.rows, bgr.cols, 3}, at::kByte);
  cv::Mat view(bgr.rows, bgr.cols, CV_8UC3, out.data_ptr());
  bgr.copyTo(view);
  return out;
}

// A cv::Mat over an H x W x 3 uint8 tensor's memory (no copy).
cv::Mat as_mat(const at::Tensor& image) {
  if (image.dim() != 3 || image.size(2) != 3 || image.scalar_type() != at::kByte || !image.is_contiguous())
    throw Error("an image must be a contiguous H x W x 3 uint8 tensor");
  return cv::Mat(static_cast<int>(image.size(0)), static_cast<int>(image.size(1)), CV_8UC3, image.data_ptr());
}

bool is_camera_index(const std::string& s) {
  return !s.empty() && s.size() <= 3 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

at::Tensor read_bgr_image(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error("image '" + path + "' does not exist");
  const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw Error("image '" + path + "' cannot be decoded");
  return to_tensor(bgr);
}

struct FrameSource::Capture {
  cv::VideoCapture video;
};

FrameSource FrameSource::open(const std::string& source, bool is_directory) {
  FrameSource s;
  s.name_ = source;
  std::error_code ec;
  if (is_directory) {
    s.images_ = list_images(source);
    s.count_ = static_cast<int64_t>(s.images_.size());
    return s;
  }
  s.capture_ = std::make_unique<Capture>();
  if (is_camera_index(source) && !fs::exists(source, ec)) {
    if (!s.capture_->video.open(std::stoi(source)) || !s.capture_->video.isOpened())
      throw Error("camera " + source + " cannot be opened");
    return s;
  }
  if (!fs::is_regular_file(source, ec)) throw Error("video '" + source + "' does not exist");
  if (fs::file_size(source, ec) == 0) throw Error("video '" + source + "' is empty");
  // FFmpeg's reader only: the other backends print their own failures on stderr.
  if (!s.capture_->video.open(source, cv::CAP_FFMPEG) || !s.capture_->video.isOpened())
    throw Error("video '" + source + "': OpenCV cannot read it as a video");
  const double frames = s.capture_->video.get(cv::CAP_PROP_FRAME_COUNT);
  s.count_ = std::isfinite(frames) && frames > 0 ? static_cast<int64_t>(std::llround(frames)) : -1;
  const double fps = s.capture_->video.get(cv::CAP_PROP_FPS);
  s.fps_ = std::isfinite(fps) && fps > 0 && fps < 1000 ? fps : 0;
  return s;
}

FrameSource::~FrameSource() = default;
FrameSource::FrameSource(FrameSource&&) noexcept = default;

at::Tensor FrameSource::next() {
  if (!capture_) {
    if (next_image_ >= images_.size()) return {};
    return read_bgr_image(images_[next_image_++]);
  }
  cv::Mat frame;
  if (!capture_->video.read(frame) || frame.empty()) return {};
  if (frame.type() != CV_8UC3) {
    cv::Mat converted;
    if (frame.channels() == 1) cv::cvtColor(frame, converted, cv::COLOR_GRAY2BGR);
    else if (frame.channels() == 4) cv::cvtColor(frame, converted, cv::COLOR_BGRA2BGR);
    else throw Error("video '" + name_ + "': frames of an unsupported pixel format");
    frame = converted;
  }
  return to_tensor(frame);
}

at::Tensor crop_subwindow(const at::Tensor& image, double cx, double cy, int64_t model_sz, int64_t original_sz,
                          const std::array<double, 3>& average) {
  constexpr int64_t kMaxSide = 1 << 16;  // OpenCV's sizes are int; no crop of a real frame comes near
  if (original_sz < 1 || model_sz < 1 || original_sz > kMaxSide || model_sz > kMaxSide)
    throw Error("a crop's side must be between 1 and " + std::to_string(kMaxSide) + " pixels");
  if (!(std::abs(cx) < kMaxSide * 4.0 && std::abs(cy) < kMaxSide * 4.0)) throw Error("a crop's centre lies far outside the image");
  const cv::Mat im = as_mat(image);
  const double c = (static_cast<double>(original_sz) + 1) / 2;
  const int64_t x0 = static_cast<int64_t>(std::floor(cx - c + 0.5));
  const int64_t y0 = static_cast<int64_t>(std::floor(cy - c + 0.5));
  // What leaves the image holds the mean as a uint8 image stores it: truncated.
  const cv::Scalar fill(static_cast<uint8_t>(average[0]), static_cast<uint8_t>(average[1]),
                        static_cast<uint8_t>(average[2]));
  const int side = static_cast<int>(original_sz);
  cv::Mat patch;
  const cv::Rect wanted(static_cast<int>(x0), static_cast<int>(y0), side, side);
  const cv::Rect inside = wanted & cv::Rect(0, 0, im.cols, im.rows);
  if (inside == wanted) {
    patch = im(wanted);
  } else {
    patch = cv::Mat(side, side, CV_8UC3, fill);
    if (!inside.empty()) im(inside).copyTo(patch(inside - wanted.tl()));
  }
  cv::Mat resized;
  if (model_sz != original_sz)
    cv::resize(patch, resized, cv::Size(static_cast<int>(model_sz), static_cast<int>(model_sz)), 0, 0, cv::INTER_LINEAR);
  else
    resized = patch.clone();
  at::Tensor hwc = at::from_blob(resized.data, {model_sz, model_sz, 3}, at::kByte);
  return hwc.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).contiguous();
}

bool can_show_windows() {
  const char* x = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  return (x && *x) || (wayland && *wayland);
}

std::array<double, 4> select_box(const at::Tensor& image, const std::string& title) {
  cv::Rect r;
  try {
    const cv::Mat im = as_mat(image);
    r = cv::selectROI(title, im, true, false);
    cv::destroyWindow(title);
  } catch (const cv::Exception& e) {
    throw Error("cannot show a window to draw the box (" + e.err + "): give it with --init x,y,w,h");
  }
  if (r.width <= 0 || r.height <= 0) throw Error("no box was drawn: give it with --init x,y,w,h");
  return {static_cast<double>(r.x), static_cast<double>(r.y), static_cast<double>(r.width),
          static_cast<double>(r.height)};
}

// --------------------------------------------------------------- rendering

struct BoxRenderer::Writer {
  fs::path target, temp;
  bool to_video = false;
  double fps = 25;
  cv::VideoWriter video;
  int64_t frames = 0;
  bool committed = false;
};

namespace {

int fourcc_for(const std::string& ext) {
  if (ext == ".avi") return cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
  return cv::VideoWriter::fourcc('m', 'p', '4', 'v');
}

}  // namespace

BoxRenderer::BoxRenderer(const std::string& target, double fps) : writer_(std::make_unique<Writer>()) {
  Writer& w = *writer_;
  w.target = fs::path(target).lexically_normal();
  if (w.target.filename().empty()) w.target = w.target.parent_path();  // "out/" is the directory out
  w.fps = fps > 0 ? fps : 25;
  std::string ext = w.target.extension().string();
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  w.to_video = ext == ".mp4" || ext == ".avi" || ext == ".mkv" || ext == ".mov";
  std::error_code ec;
  const fs::path parent = w.target.has_parent_path() ? w.target.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) throw Error("cannot write '" + target + "': '" + parent.string() + "' is not a directory");
  if (!w.to_video && !ext.empty() && ext != ".") throw Error("--render '" + target + "': a video (.mp4, .avi, .mkv, .mov) or a directory");
  if (!w.to_video && fs::exists(w.target, ec) && !(fs::is_directory(w.target, ec) && fs::is_empty(w.target, ec)))
    throw Error("--render '" + target + "' exists and is not an empty directory");
  // Beside the target, with the same extension, so the container is the right one.
  const std::string tag = ".partial." + std::to_string(::getpid());
  w.temp = parent / (w.target.stem().string() + tag + (w.to_video ? ext : ""));
  if (!w.to_video) {
    fs::create_directories(w.temp, ec);
    if (ec) throw Error("cannot write '" + target + "': " + ec.message());
  }
}

BoxRenderer::~BoxRenderer() {
  if (!writer_ || writer_->committed) return;
  writer_->video.release();
  std::error_code ec;
  fs::remove_all(writer_->temp, ec);
}

void BoxRenderer::add(const at::Tensor& image, const std::array<double, 4>& box, const std::string& caption) {
  Writer& w = *writer_;
  cv::Mat frame = as_mat(image).clone();
  const int thickness = std::max(2, std::min(frame.cols, frame.rows) / 200);
  cv::rectangle(frame, cv::Point(static_cast<int>(std::lround(box[0])), static_cast<int>(std::lround(box[1]))),
                cv::Point(static_cast<int>(std::lround(box[0] + box[2])), static_cast<int>(std::lround(box[1] + box[3]))),
                cv::Scalar(0, 255, 0), thickness);
  if (!caption.empty()) {
    const double scale = std::max(0.4, frame.rows / 720.0);
    cv::putText(frame, caption, cv::Point(8, static_cast<int>(24 * scale) + 4), cv::FONT_HERSHEY_SIMPLEX, scale,
                cv::Scalar(0, 0, 0), 3, cv::LINE_AA);
    cv::putText(frame, caption, cv::Point(8, static_cast<int>(24 * scale) + 4), cv::FONT_HERSHEY_SIMPLEX, scale,
                cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
  ++w.frames;
  if (!w.to_video) {
    char name[32];
    std::snprintf(name, sizeof name, "%04lld.png", static_cast<long long>(w.frames));
    const fs::path out = w.temp / name;
    if (!cv::imwrite(out.string(), frame)) throw Error("cannot write '" + out.string() + "'");
    return;
  }
  if (!w.video.isOpened()) {
    std::string ext = w.target.extension().string();
    for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!w.video.open(w.temp.string(), fourcc_for(ext), w.fps, frame.size()) || !w.video.isOpened())
      throw Error("cannot write the video '" + w.target.string() + "': OpenCV has no encoder for it");
  }
  w.video.write(frame);
}

void BoxRenderer::commit() {
  Writer& w = *writer_;
  if (w.frames == 0) throw Error("nothing to render into '" + w.target.string() + "'");
  w.video.release();
  std::error_code ec;
  if (!w.to_video && fs::exists(w.target, ec)) fs::remove(w.target, ec);  // known to be an empty directory
  fs::rename(w.temp, w.target, ec);
  if (ec) throw Error("cannot write '" + w.target.string() + "': " + ec.message());
  w.committed = true;
}

}  // namespace reskit::io
