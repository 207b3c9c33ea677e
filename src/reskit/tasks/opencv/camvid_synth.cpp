#include "reskit/tasks/opencv/camvid_synth.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "reskit/core/counter_rng.h"
#include "reskit/core/error.h"
#include "reskit/core/interrupt.h"
#include "reskit/io/atomic_file.h"
#include "reskit/io/opencv/label_image.h"
#include "reskit/tasks/seg_data.h"

namespace reskit::tasks {
namespace fs = std::filesystem;

namespace {

// seeds/004's Cam_CLASSES indices.
constexpr int kBuilding = 4, kCar = 5, kPole = 8, kLane = 10, kPedestrian = 16, kRoad = 17, kSidewalk = 19,
              kSign = 20, kSky = 21, kTree = 26;
constexpr int kBorder = 2;  // pixels of the ignore label around the mask
constexpr const char* kMarker = "make_data.json";

struct P {
  double x, y;
};
P lerp(P a, P b, double t) { return {a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t}; }

// Image and mask painted together: every shape is drawn with the same
// integer points on both, without anti-aliasing, so the mask is exact.
class Canvas {
 public:
  Canvas(int width, int height) : image(height, width, CV_8UC3, cv::Scalar(0, 0, 0)), label(height, width, CV_8U) {}
  void poly(const std::vector<P>& points, const cv::Scalar& rgb, int cls) {
    std::vector<std::vector<cv::Point>> contour(1);
    for (const P& p : points) contour[0].push_back(pt(p));
    cv::fillPoly(image, contour, rgb, cv::LINE_8);
    cv::fillPoly(label, contour, cv::Scalar(cls), cv::LINE_8);
  }
  void rect(double x0, double y0, double x1, double y1, const cv::Scalar& rgb, int cls) {
    poly({{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}, rgb, cls);
  }
  void circle(P c, double r, const cv::Scalar& rgb, int cls) {
    const int radius = std::max(1, static_cast<int>(std::lround(r)));
    cv::circle(image, pt(c), radius, rgb, cv::FILLED, cv::LINE_8);
    cv::circle(label, pt(c), radius, cv::Scalar(cls), cv::FILLED, cv::LINE_8);
  }
  void line(P a, P b, double thickness, const cv::Scalar& rgb, int cls) {
    const int t = std::max(1, static_cast<int>(std::lround(thickness)));
    cv::line(image, pt(a), pt(b), rgb, t, cv::LINE_8);
    cv::line(label, pt(a), pt(b), cv::Scalar(cls), t, cv::LINE_8);
  }
  cv::Mat image, label;  // image: RGB

 private:
  cv::Point pt(P p) const {
    const double lim = 4.0 * std::max(image.cols, image.rows);  // far outside is as good as outside
    return {static_cast<int>(std::lround(std::clamp(p.x, -lim, lim))),
            static_cast<int>(std::lround(std::clamp(p.y, -lim, lim)))};
  }
};

cv::Scalar colour(CounterRng& rng, int r, int g, int b, int spread) {
  const auto j = [&](int v) { return static_cast<double>(std::clamp<int64_t>(v + rng.between(-spread, spread), 0, 255)); };
  const double cr = j(r), cg = j(g), cb = j(b);
  return cv::Scalar(cr, cg, cb);
}

cv::Scalar building_colour(CounterRng& rng) {
  static const int kBase[][3] = {{150, 110, 90}, {170, 160, 140}, {120, 120, 125}, {190, 170, 130}, {140, 90, 70},
                                 {100, 105, 115}};
  const auto& b = kBase[rng.below(6)];
  return colour(rng, b[0], b[1], b[2], 18);
}

cv::Scalar window_colour(CounterRng& rng) {
  return rng.chance(0.2) ? colour(rng, 200, 190, 120, 20) : colour(rng, 50, 65, 90, 15);
}

// Windows in a grid over the quad (near top, far top, far bottom, near bottom).
void windows(Canvas& c, CounterRng& rng, P nt, P ft, P fb, P nb, int cols, int rows) {
  const auto at = [&](double u, double v) { return lerp(lerp(nt, ft, u), lerp(nb, fb, u), v); };
  for (int i = 0; i < cols; ++i)
    for (int j = 0; j < rows; ++j) {
      if (rng.chance(0.1)) continue;
      const double u0 = (i + 0.22) / cols, u1 = (i + 0.78) / cols;
      const double v0 = (j + 0.2) / rows, v1 = (j + 0.7) / rows;
      c.poly({at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)}, window_colour(rng), kBuilding);
    }
}

struct Thing {
  double t;  // depth: 0 at the horizon, 1 at the bottom edge
  int kind;  // 0 tree, 1 pole, 2 pedestrian, 3 car
  double lateral;
  int side;  // -1 left, 1 right (sidewalk things)
};

void draw_tree(Canvas& c, CounterRng& rng, P base, double h, double t) {
  const double trunk_h = h * 0.22 * t, trunk_w = std::max(1.5, h * 0.03 * t);
  c.rect(base.x - trunk_w / 2, base.y - trunk_h, base.x + trunk_w / 2, base.y, colour(rng, 95, 65, 40, 12), kTree);
  const double r = h * rng.uniform(0.07, 0.11) * t;
  const P crown{base.x, base.y - trunk_h - r * 0.6};
  const int blobs = static_cast<int>(rng.between(3, 6));
  for (int k = 0; k < blobs; ++k) {
    const P at{crown.x + r * rng.uniform(-0.7, 0.7), crown.y + r * rng.uniform(-0.6, 0.5)};
    const double radius = r * rng.uniform(0.55, 0.9);
    c.circle(at, radius, colour(rng, 60, 125, 45, 25), kTree);
  }
}

void draw_pole(Canvas& c, CounterRng& rng, P base, double h, double t) {
  const double ph = h * rng.uniform(0.38, 0.5) * t, pw = std::max(1.0, h * 0.012 * t);
  c.rect(base.x - pw / 2, base.y - ph, base.x + pw / 2, base.y, colour(rng, 125, 125, 130, 15), kPole);
  if (!rng.chance(0.6)) return;
  static const int kSigns[][3] = {{200, 30, 30}, {30, 70, 180}, {225, 190, 30}};
  const auto& s = kSigns[rng.below(3)];
  const double side = h * 0.055 * t;
  const P top{base.x, base.y - ph + side};
  if (rng.chance(0.5))
    c.circle(top, side, colour(rng, s[0], s[1], s[2], 12), kSign);
  else
    c.rect(top.x - side, top.y - side, top.x + side, top.y + side * 0.8, colour(rng, s[0], s[1], s[2], 12), kSign);
}

void draw_pedestrian(Canvas& c, CounterRng& rng, P feet, double h, double t) {
  const double ph = h * rng.uniform(0.18, 0.24) * t;
  const double body_w = ph * 0.24, leg = std::max(1.0, ph * 0.08);
  const int shade[3] = {static_cast<int>(rng.between(30, 200)), static_cast<int>(rng.between(30, 200)),
                        static_cast<int>(rng.between(30, 200))};
  const cv::Scalar clothes = colour(rng, shade[0], shade[1], shade[2], 10);
  const cv::Scalar trousers = colour(rng, 45, 45, 60, 15);
  const double hip = feet.y - ph * 0.45;
  c.line({feet.x - body_w * 0.3, hip}, {feet.x - body_w * 0.45, feet.y}, leg, trousers, kPedestrian);
  c.line({feet.x + body_w * 0.3, hip}, {feet.x + body_w * 0.45, feet.y}, leg, trousers, kPedestrian);
  c.rect(feet.x - body_w / 2, feet.y - ph * 0.8, feet.x + body_w / 2, hip, clothes, kPedestrian);
  c.circle({feet.x, feet.y - ph * 0.89}, ph * 0.1, colour(rng, 215, 170, 140, 25), kPedestrian);
}

void draw_car(Canvas& c, CounterRng& rng, P bottom, double w, double t) {
  static const int kPaints[][3] = {{180, 30, 30}, {30, 60, 150}, {225, 225, 225}, {160, 165, 170},
                                   {25, 25, 30},  {220, 190, 40}, {40, 110, 60}};
  const auto& p = kPaints[rng.below(7)];
  const cv::Scalar paint = colour(rng, p[0], p[1], p[2], 15);
  const double cw = w * rng.uniform(0.26, 0.36) * t;
  const double x = bottom.x, y = bottom.y;
  c.poly({{x - cw * 0.36, y - cw * 0.3}, {x - cw * 0.24, y - cw * 0.5}, {x + cw * 0.24, y - cw * 0.5},
          {x + cw * 0.36, y - cw * 0.3}},
         paint, kCar);
  c.poly({{x - cw * 0.3, y - cw * 0.31}, {x - cw * 0.21, y - cw * 0.46}, {x + cw * 0.21, y - cw * 0.46},
          {x + cw * 0.3, y - cw * 0.31}},
         colour(rng, 55, 65, 85, 12), kCar);
  c.rect(x - cw / 2, y - cw * 0.32, x + cw / 2, y - cw * 0.08, paint, kCar);
  const cv::Scalar tyre = colour(rng, 25, 25, 28, 6);
  c.circle({x - cw * 0.3, y - cw * 0.09}, cw * 0.09, tyre, kCar);
  c.circle({x + cw * 0.3, y - cw * 0.09}, cw * 0.09, tyre, kCar);
  c.rect(x - cw * 0.47, y - cw * 0.27, x - cw * 0.38, y - cw * 0.22, colour(rng, 235, 225, 180, 10), kCar);
  c.rect(x + cw * 0.38, y - cw * 0.27, x + cw * 0.47, y - cw * 0.22, colour(rng, 235, 225, 180, 10), kCar);
}

// A blur, a brightness and tint change and pixel noise: texture the network
// has to see through; the mask is untouched.
void weather(cv::Mat& rgb, CounterRng& rng) {
  cv::Mat blurred;
  cv::GaussianBlur(rgb, blurred, cv::Size(3, 3), 0.8, 0.8, cv::BORDER_REFLECT_101);
  const double gain = rng.uniform(0.75, 1.2);
  const double tint[3] = {rng.uniform(0.94, 1.06), rng.uniform(0.94, 1.06), rng.uniform(0.94, 1.06)};
  for (int y = 0; y < blurred.rows; ++y) {
    uint8_t* row = blurred.ptr<uint8_t>(y);
    for (int x = 0; x < blurred.cols; ++x) {
      const uint64_t noise = rng.next();
      for (int k = 0; k < 3; ++k) {
        const int delta = static_cast<int>((noise >> (8 * k)) & 0xff) % 25 - 12;
        const double v = row[3 * x + k] * gain * tint[k] + delta;
        row[3 * x + k] = static_cast<uint8_t>(std::clamp<long>(std::lround(v), 0, 255));
      }
    }
  }
  rgb = blurred;
}

at::Tensor to_tensor(const cv::Mat& m) {
  at::Tensor t = m.channels() == 1 ? at::empty({m.rows, m.cols}, at::kByte) : at::empty({m.rows, m.cols, 3}, at::kByte);
  cv::Mat view(m.rows, m.cols, m.type(), t.data_ptr());
  m.copyTo(view);
  return t;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

void write_text(const fs::path& path, const std::string& text) {
  io::AtomicFile f(path.string());
  f.stream() << text;
  f.commit();
}

const char* format_name(SynthLabelFormat f) {
  return f == SynthLabelFormat::kIndex ? "index" : f == SynthLabelFormat::kPalette ? "palette" : "colour";
}

// The temporary folder goes away unless it was renamed into place.
struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

const std::vector<int64_t>& camvid_synth_classes() {
  static const std::vector<int64_t> kClasses = {kBuilding, kCar, kPole, kLane, kPedestrian,
                                                kRoad,     kSidewalk, kSign, kSky, kTree};
  return kClasses;
}

SynthScene make_street_scene(int64_t width, int64_t height, uint64_t seed, uint64_t stream, uint64_t index) {
  if (width < kMinSynthSide || height < kMinSynthSide || width > kMaxSynthSide || height > kMaxSynthSide)
    throw Error("a scene's sides must be " + std::to_string(kMinSynthSide) + " to " + std::to_string(kMaxSynthSide) +
                " pixels, got " + std::to_string(width) + "x" + std::to_string(height));
  CounterRng rng{seed, stream, index};
  const double w = static_cast<double>(width), h = static_cast<double>(height);
  Canvas c(static_cast<int>(width), static_cast<int>(height));
  const double horizon = h * rng.uniform(0.36, 0.5);
  const double vx = w * rng.uniform(0.4, 0.6);

  // Sky: a vertical gradient down to the horizon, a few clouds.
  const double top[3] = {static_cast<double>(rng.between(60, 110)), static_cast<double>(rng.between(110, 160)),
                         static_cast<double>(rng.between(180, 235))};
  const double low[3] = {static_cast<double>(rng.between(185, 225)), static_cast<double>(rng.between(205, 235)),
                         static_cast<double>(rng.between(225, 250))};
  c.label.setTo(cv::Scalar(kSky));
  for (int y = 0; y < c.image.rows; ++y) {
    const double f = std::min(1.0, y / std::max(horizon, 1.0));
    const cv::Vec3b v(static_cast<uint8_t>(std::lround(top[0] + (low[0] - top[0]) * f)),
                      static_cast<uint8_t>(std::lround(top[1] + (low[1] - top[1]) * f)),
                      static_cast<uint8_t>(std::lround(top[2] + (low[2] - top[2]) * f)));
    for (int x = 0; x < c.image.cols; ++x) c.image.at<cv::Vec3b>(y, x) = v;
  }
  for (int64_t k = rng.between(0, 3); k > 0; --k) {
    const P at{rng.uniform(0, w), rng.uniform(0.05 * h, 0.7 * horizon)};
    const double r = w * rng.uniform(0.02, 0.05);
    const cv::Scalar white = colour(rng, 240, 240, 245, 8);
    for (int64_t b = rng.between(3, 5); b > 0; --b) {
      const P blob{at.x + r * rng.uniform(-1.5, 1.5), at.y + r * rng.uniform(-0.4, 0.4)};
      const double radius = r * rng.uniform(0.7, 1.2);
      c.circle(blob, radius, white, kSky);
    }
  }

  // A far skyline standing on the horizon.
  for (double x = -w * rng.uniform(0, 0.05); x < w;) {
    const double bw = w * rng.uniform(0.06, 0.16), top_y = horizon - h * rng.uniform(0.06, 0.3);
    c.rect(x, top_y, x + bw, horizon + 2, building_colour(rng), kBuilding);
    if (bw > 10) {
      const int cols = static_cast<int>(rng.between(2, 4)), rows = static_cast<int>(rng.between(2, 5));
      windows(c, rng, {x, top_y}, {x + bw, top_y}, {x + bw, horizon}, {x, horizon}, cols, rows);
    }
    x += bw + (rng.chance(0.25) ? w * rng.uniform(0.01, 0.05) : 0);
  }

  // The ground is sidewalk; the road, a trapezoid to the vanishing point, lies on it.
  c.rect(-2, horizon, w + 2, h + 2, colour(rng, 170, 165, 155, 18), kSidewalk);
  const P road_tl{vx - w * 0.015, horizon}, road_tr{vx + w * 0.015, horizon};
  const P road_bl{w * rng.uniform(-0.35, 0.05), h}, road_br{w * rng.uniform(0.95, 1.35), h};
  c.poly({road_tl, road_tr, road_br, road_bl}, colour(rng, 85, 85, 90, 15), kRoad);
  const auto road_edge = [&](int side, double t) { return side < 0 ? lerp(road_tl, road_bl, t) : lerp(road_tr, road_br, t); };

  // Lane markings: a dashed centre line in perspective, sometimes edge lines.
  const P centre_top{vx, horizon}, centre_bottom{(road_bl.x + road_br.x) / 2, h};
  const cv::Scalar paint = rng.chance(0.3) ? colour(rng, 225, 195, 60, 10) : colour(rng, 235, 235, 235, 8);
  for (double t0 = rng.uniform(0.08, 0.14); t0 < 1;) {
    const double t1 = std::min(1.0, t0 * 1.45);
    const double hw0 = w * 0.01 * t0, hw1 = w * 0.01 * t1;
    const P a = lerp(centre_top, centre_bottom, t0), b = lerp(centre_top, centre_bottom, t1);
    c.poly({{a.x - hw0, a.y}, {a.x + hw0, a.y}, {b.x + hw1, b.y}, {b.x - hw1, b.y}}, paint, kLane);
    t0 = t1 * 1.3;
  }
  if (rng.chance(0.6))
    for (int side : {-1, 1}) {
      const P a = road_edge(side, 0.05), b = road_edge(side, 1.0);
      const double in = -side * w * 0.02;
      c.poly({{a.x, a.y}, {a.x - side * w * 0.002, a.y}, {b.x + in, b.y}, {b.x + in * 0.4, b.y}}, paint, kLane);
    }

  // Facades along the street, outside the road: their bottom edge runs from
  // beside the road's top to the image's side above where the road leaves it.
  for (int side : {-1, 1}) {
    if (!rng.chance(0.75)) continue;
    const double near_x = side < 0 ? -2 : w + 2;
    const double far_x = vx + side * w * rng.uniform(0.12, 0.22);
    const P edge_top = side < 0 ? road_tl : road_tr, edge_bottom = side < 0 ? road_bl : road_br;
    double cross = h;  // where the road's edge meets the image side
    if ((side < 0 && edge_bottom.x < 0) || (side > 0 && edge_bottom.x > w))
      cross = horizon + (h - horizon) * (edge_top.x - near_x) / (edge_top.x - edge_bottom.x);
    const double near_bottom = horizon + (std::min(cross, h) - horizon) * rng.uniform(0.4, 0.75);
    const P nt{near_x, h * rng.uniform(-0.2, 0.12)}, ft{far_x, horizon - h * rng.uniform(0.05, 0.12)};
    const P fb{far_x, horizon + 1}, nb{near_x, near_bottom};
    c.poly({nt, ft, fb, nb}, building_colour(rng), kBuilding);
    const int cols = static_cast<int>(rng.between(3, 6)), rows = static_cast<int>(rng.between(3, 6));
    windows(c, rng, nt, ft, fb, nb, cols, rows);
  }

  // Things on the sidewalks and the road, drawn far to near.
  std::vector<Thing> things;
  for (int64_t k = rng.between(1, 4); k > 0; --k) things.push_back({rng.uniform(0.15, 0.9), 0, rng.uniform(0.05, 0.3), rng.chance(0.5) ? -1 : 1});
  for (int64_t k = rng.between(0, 3); k > 0; --k) things.push_back({rng.uniform(0.2, 0.95), 1, rng.uniform(0.02, 0.12), rng.chance(0.5) ? -1 : 1});
  for (int64_t k = rng.between(0, 4); k > 0; --k) things.push_back({rng.uniform(0.2, 0.95), 2, rng.uniform(0.03, 0.25), rng.chance(0.5) ? -1 : 1});
  for (int64_t k = rng.between(1, 3); k > 0; --k) things.push_back({rng.uniform(0.25, 1.0), 3, rng.uniform(0.2, 0.8), 0});
  std::stable_sort(things.begin(), things.end(), [](const Thing& a, const Thing& b) { return a.t < b.t; });
  for (const Thing& th : things) {
    if (th.kind == 3) {
      const P l = road_edge(-1, th.t), r = road_edge(1, th.t);
      draw_car(c, rng, lerp(l, r, th.lateral), w, th.t);
      continue;
    }
    const P edge = road_edge(th.side, th.t);
    const P base{edge.x + th.side * w * th.lateral * th.t, edge.y};
    if (th.kind == 0) draw_tree(c, rng, base, h, th.t);
    else if (th.kind == 1) draw_pole(c, rng, base, h, th.t);
    else draw_pedestrian(c, rng, base, h, th.t);
  }

  weather(c.image, rng);
  const int bw = std::min({kBorder, c.label.cols / 2, c.label.rows / 2});
  c.label.rowRange(0, bw).setTo(255);
  c.label.rowRange(c.label.rows - bw, c.label.rows).setTo(255);
  c.label.colRange(0, bw).setTo(255);
  c.label.colRange(c.label.cols - bw, c.label.cols).setTo(255);
  return {to_tensor(c.image), to_tensor(c.label)};
}

CamvidSynthSummary write_camvid_synth(const std::string& dir, const CamvidSynthOptions& o, Progress::Style style) {
  if (o.images < 2 || o.images > kMaxSynthImages)
    throw Error("make-data: --images must be 2 to " + std::to_string(kMaxSynthImages) + ", got " + std::to_string(o.images));
  if (o.test_images < 0 || o.test_images > kMaxSynthImages)
    throw Error("make-data: test images must be 0 to " + std::to_string(kMaxSynthImages));
  if (o.width < kMinSynthSide || o.height < kMinSynthSide || o.width > kMaxSynthSide || o.height > kMaxSynthSide)
    throw Error("make-data: --size must be " + std::to_string(kMinSynthSide) + " to " + std::to_string(kMaxSynthSide) +
                " pixels a side, got " + std::to_string(o.width) + "x" + std::to_string(o.height));
  fs::path target = fs::path(dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "out/"
  if (target.empty()) throw Error("make-data: no output folder given");
  std::error_code ec;
  const bool exists = fs::exists(target, ec);
  if (exists) {
    if (!fs::is_directory(target, ec)) throw Error("make-data: " + quoted(target.string()) + " exists and is not a folder");
    if (!fs::is_empty(target, ec) && !fs::exists(target / kMarker, ec))
      throw Error("make-data: " + quoted(target.string()) + " is not empty and not an earlier make-data output");
  }
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) throw Error("make-data: cannot create " + quoted(parent.string()) + ": " + ec.message());

  TempDir temp{parent / (target.filename().string() + ".partial." + std::to_string(::getpid()))};
  fs::remove_all(temp.path, ec);
  CamvidSynthSummary summary;
  summary.valid = std::max<int64_t>(1, o.images / 4);
  summary.train = o.images - summary.valid;
  summary.test = o.test_images;
  for (const char* split : {"train", "valid", "test"})
    for (const char* kind : {"_images", "_labels"}) {
      fs::create_directories(temp.path / (std::string(split) + kind), ec);
      if (ec) throw Error("make-data: cannot create " + quoted((temp.path / (std::string(split) + kind)).string()) + ": " + ec.message());
    }

  const ClassColours& palette = camvid_seed_colours();
  Progress progress("make-data", o.images + o.test_images, style);
  const auto write_scene = [&](const std::string& split, uint64_t stream, int64_t index) {
    // Ctrl-C under the command's InterruptScope: stop here, the temporary folder goes.
    if (InterruptScope::requested())
      throw Error("make-data: interrupted; " + quoted(target.string()) + " is as it was");
    const SynthScene s = make_street_scene(o.width, o.height, o.seed, stream, static_cast<uint64_t>(index));
    char name[32];
    std::snprintf(name, sizeof name, "street_%04lld.png", static_cast<long long>(index));
    io::write_rgb_png((temp.path / (split + "_images") / name).string(), s.image);
    const std::string label = (temp.path / (split + "_labels") / name).string();
    if (o.labels == SynthLabelFormat::kIndex) io::write_index_png(label, s.label);
    else if (o.labels == SynthLabelFormat::kPalette) io::write_palette_png(label, s.label, palette);
    else io::write_colour_png(label, s.label, palette);
    progress.step(split);
  };
  for (int64_t i = 0; i < o.images; ++i) write_scene(i < summary.train ? "train" : "valid", 0, i);
  for (int64_t i = 0; i < o.test_images; ++i) write_scene("test", 1, i);

  std::string names, colours;
  for (const std::string& n : camvid_seed_names()) names += n + "\n";
  for (size_t i = 0; i < palette.size(); ++i)
    colours += std::to_string(palette[i][0]) + " " + std::to_string(palette[i][1]) + " " + std::to_string(palette[i][2]) +
               (i < camvid_seed_names().size() ? " " + camvid_seed_names()[i] : "") + "\n";
  write_text(temp.path / "class_names.txt", names);
  write_text(temp.path / "class_colours.txt", colours);
  const nlohmann::json marker = {{"generator", "reskit make-data camvid"}, {"images", o.images},
                                 {"width", o.width}, {"height", o.height}, {"seed", o.seed},
                                 {"labels", format_name(o.labels)}, {"train", summary.train},
                                 {"valid", summary.valid}, {"test", summary.test}};
  write_text(temp.path / kMarker, marker.dump(1) + "\n");

  // Into place: an earlier output is moved aside first and removed after.
  if (exists) {
    const fs::path old = parent / (target.filename().string() + ".old." + std::to_string(::getpid()));
    fs::remove_all(old, ec);
    fs::rename(target, old, ec);
    if (ec) throw Error("make-data: cannot replace " + quoted(target.string()) + ": " + ec.message());
    fs::rename(temp.path, target, ec);
    if (ec) {
      std::error_code back;
      fs::rename(old, target, back);
      throw Error("make-data: cannot write " + quoted(target.string()) + ": " + ec.message());
    }
    fs::remove_all(old, ec);
  } else {
    fs::rename(temp.path, target, ec);
    if (ec) throw Error("make-data: cannot write " + quoted(target.string()) + ": " + ec.message());
  }
  temp.path.clear();
  progress.finish();
  return summary;
}

}  // namespace reskit::tasks
