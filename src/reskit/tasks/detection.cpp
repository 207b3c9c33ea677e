#include "reskit/tasks/detection.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "reskit/core/error.h"

namespace reskit::tasks {
namespace {

// data/config.py's VOC_300, VOC_512, COCO_300 and COCO_512.
struct PriorConfig {
  std::vector<int64_t> feature_maps;
  double min_dim;
  std::vector<double> steps, min_sizes, max_sizes;
  std::vector<std::vector<double>> aspect_ratios;
};

const PriorConfig& prior_config(int64_t size, DetectionDataset dataset) {
  static const PriorConfig voc300{{38, 19, 10, 5, 3, 1}, 300, {8, 16, 32, 64, 100, 300},
                                  {30, 60, 111, 162, 213, 264}, {60, 111, 162, 213, 264, 315},
                                  {{2, 3}, {2, 3}, {2, 3}, {2, 3}, {2}, {2}}};
  static const PriorConfig voc512{{64, 32, 16, 8, 4, 2, 1}, 512, {8, 16, 32, 64, 128, 256, 512},
                                  {35.84, 76.8, 153.6, 230.4, 307.2, 384.0, 460.8},
                                  {76.8, 153.6, 230.4, 307.2, 384.0, 460.8, 537.6},
                                  {{2, 3}, {2, 3}, {2, 3}, {2, 3}, {2, 3}, {2}, {2}}};
  static const PriorConfig coco300{{38, 19, 10, 5, 3, 1}, 300, {8, 16, 32, 64, 100, 300},
                                   {21, 45, 99, 153, 207, 261}, {45, 99, 153, 207, 261, 315},
                                   {{2, 3}, {2, 3}, {2, 3}, {2, 3}, {2}, {2}}};
  static const PriorConfig coco512{{64, 32, 16, 8, 4, 2, 1}, 512, {8, 16, 32, 64, 128, 256, 512},
                                   {20.48, 51.2, 133.12, 215.04, 296.96, 378.88, 460.8},
                                   {51.2, 133.12, 215.04, 296.96, 378.88, 460.8, 542.72},
                                   {{2, 3}, {2, 3}, {2, 3}, {2, 3}, {2, 3}, {2}, {2}}};
  if (size != 300 && size != 512) throw Error("prior boxes exist for sizes 300 and 512, not " + std::to_string(size));
  if (dataset == DetectionDataset::kVoc) return size == 300 ? voc300 : voc512;
  return size == 300 ? coco300 : coco512;
}

// COCO's category ids run 1..90 with these ten unused; RFBNet numbers the
// other 80 contiguously in id order.
bool unused_coco_id(int64_t id) {
  static const int64_t unused[] = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83};
  return std::find(std::begin(unused), std::end(unused), id) != std::end(unused);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

}  // namespace

DetectionDataset parse_detection_dataset(const std::string& word) {
  if (word == "voc") return DetectionDataset::kVoc;
  if (word == "coco") return DetectionDataset::kCoco;
  throw Error("unknown dataset '" + word + "': voc or coco");
}

DetectionDataset dataset_for_classes(int64_t num_classes) {
  return num_classes == 81 ? DetectionDataset::kCoco : DetectionDataset::kVoc;
}

at::Tensor prior_boxes(int64_t size, DetectionDataset dataset) {
  const PriorConfig& c = prior_config(size, dataset);
  // Computed in double as upstream's Python, stored as float32 as its torch.Tensor.
  std::vector<float> mean;
  for (size_t k = 0; k < c.feature_maps.size(); ++k) {
    const int64_t f = c.feature_maps[k];
    const double f_k = c.min_dim / c.steps[k];
    const double s_k = c.min_sizes[k] / c.min_dim;
    const double s_k_prime = std::sqrt(s_k * (c.max_sizes[k] / c.min_dim));
    for (int64_t i = 0; i < f; ++i)
      for (int64_t j = 0; j < f; ++j) {
        const double cx = (j + 0.5) / f_k, cy = (i + 0.5) / f_k;
        auto push = [&](double w, double h) {
          for (double v : {cx, cy, w, h}) mean.push_back(static_cast<float>(std::clamp(v, 0.0, 1.0)));
        };
        push(s_k, s_k);
        push(s_k_prime, s_k_prime);
        for (double ar : c.aspect_ratios[k]) {
          push(s_k * std::sqrt(ar), s_k / std::sqrt(ar));
          push(s_k / std::sqrt(ar), s_k * std::sqrt(ar));
        }
      }
  }
  const int64_t count = static_cast<int64_t>(mean.size() / 4);
  return at::from_blob(mean.data(), {count, 4}, at::kFloat).clone();
}

at::Tensor decode_boxes(const at::Tensor& loc, const at::Tensor& priors) {
  if (loc.dim() != 2 || loc.size(1) != 4 || !loc.sizes().equals(priors.sizes()))
    throw Error("decode: box offsets " + std::to_string(loc.size(0)) + " do not match the " +
                std::to_string(priors.size(0)) + " prior boxes");
  const at::Tensor p = priors.to(loc.scalar_type());
  const at::Tensor centre = p.slice(1, 0, 2) + loc.slice(1, 0, 2) * 0.1 * p.slice(1, 2, 4);
  const at::Tensor wh = p.slice(1, 2, 4) * at::exp(loc.slice(1, 2, 4) * 0.2);
  const at::Tensor top_left = centre - wh / 2;
  return at::cat({top_left, top_left + wh}, 1);
}

std::vector<int64_t> nms(const at::Tensor& boxes_in, const at::Tensor& scores_in, double iou_threshold) {
  const at::Tensor boxes = boxes_in.to(at::kFloat).contiguous();
  const at::Tensor scores = scores_in.to(at::kFloat).contiguous();
  const int64_t n = boxes.size(0);
  const float* b = boxes.data_ptr<float>();
  const float* s = scores.data_ptr<float>();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return s[x] > s[y]; });
  std::vector<float> area(n);
  for (int64_t i = 0; i < n; ++i) area[i] = (b[4 * i + 2] - b[4 * i] + 1) * (b[4 * i + 3] - b[4 * i + 1] + 1);
  const float threshold = static_cast<float>(iou_threshold);
  std::vector<int64_t> keep;
  std::vector<char> dropped(n, 0);
  for (size_t a = 0; a < order.size(); ++a) {
    const int64_t i = order[a];
    if (dropped[i]) continue;
    keep.push_back(i);
    for (size_t c = a + 1; c < order.size(); ++c) {
      const int64_t j = order[c];
      if (dropped[j]) continue;
      const float w = std::max(0.0f, std::min(b[4 * i + 2], b[4 * j + 2]) - std::max(b[4 * i], b[4 * j]) + 1);
      const float h = std::max(0.0f, std::min(b[4 * i + 3], b[4 * j + 3]) - std::max(b[4 * i + 1], b[4 * j + 1]) + 1);
      const float inter = w * h;
      if (!(inter / (area[i] + area[j] - inter) <= threshold)) dropped[j] = 1;
    }
  }
  return keep;
}

std::vector<Detection> postprocess(const at::Tensor& boxes_in, const at::Tensor& scores_in,
                                   const PostprocessOptions& options) {
  if (boxes_in.dim() != 2 || boxes_in.size(1) != 4 || scores_in.dim() != 2 || scores_in.size(0) != boxes_in.size(0))
    throw Error("postprocess: expected P x 4 boxes and P x C scores");
  const at::Tensor boxes = boxes_in.to(at::kFloat).contiguous();
  const at::Tensor scores = scores_in.to(at::kFloat).contiguous();
  const float threshold = static_cast<float>(options.threshold);
  std::vector<Detection> out;
  for (int64_t j = 1; j < scores.size(1); ++j) {
    const at::Tensor candidates = at::nonzero(scores.select(1, j) > threshold).flatten();
    if (candidates.numel() == 0) continue;
    const at::Tensor class_boxes = boxes.index_select(0, candidates);
    const at::Tensor class_scores = scores.select(1, j).index_select(0, candidates).contiguous();
    const float* sc = class_scores.data_ptr<float>();
    const float* bx = class_boxes.data_ptr<float>();
    for (int64_t k : nms(class_boxes, class_scores, options.nms_iou))
      out.push_back({j, sc[k], {bx[4 * k], bx[4 * k + 1], bx[4 * k + 2], bx[4 * k + 3]}});
  }
  if (options.max_detections > 0 && static_cast<int64_t>(out.size()) > options.max_detections) {
    std::vector<float> sorted;
    for (const Detection& d : out) sorted.push_back(d.score);
    std::nth_element(sorted.begin(), sorted.begin() + (options.max_detections - 1), sorted.end(), std::greater<>());
    const float cut = sorted[options.max_detections - 1];
    out.erase(std::remove_if(out.begin(), out.end(), [&](const Detection& d) { return d.score < cut; }), out.end());
  }
  return out;
}

const std::vector<std::string>& voc_classes() {
  static const std::vector<std::string> names = {"aeroplane",   "bicycle", "bird",  "boat",      "bottle",
                                                 "bus",         "car",     "cat",   "chair",     "cow",
                                                 "diningtable", "dog",     "horse", "motorbike", "person",
                                                 "pottedplant", "sheep",   "sofa",  "train",     "tvmonitor"};
  return names;
}

std::vector<Detection> detections_from_outputs(const at::Tensor& loc, const at::Tensor& scores, const at::Tensor& priors,
                                               int64_t width, int64_t height, const PostprocessOptions& options) {
  const at::Tensor scale = at::tensor({static_cast<float>(width), static_cast<float>(height), static_cast<float>(width),
                                       static_cast<float>(height)});
  return postprocess(decode_boxes(loc.to(at::kFloat), priors) * scale, scores, options);
}

std::vector<std::string> detection_labels(DetectionDataset dataset, int64_t num_classes, const std::string& path) {
  std::vector<std::string> labels;
  if (!path.empty()) {
    if (!std::filesystem::is_regular_file(path)) throw Error("labels file '" + path + "' does not exist");
    labels = read_lines(path);
  } else {
    const std::string dir = "/usr/share/doc/opencv-doc/examples/data/dnn/";
    if (dataset == DetectionDataset::kVoc) {
      std::vector<std::string> names = read_lines(dir + "object_detection_classes_pascal_voc.txt");
      if (names.empty()) names = voc_classes();  // the same names in the same order, without opencv-doc
      labels.push_back("__background__");
      labels.insert(labels.end(), names.begin(), names.end());
    } else {
      const std::vector<std::string> by_id = read_lines(dir + "object_detection_classes_coco.txt");
      if (!by_id.empty()) labels.push_back("__background__");
      for (size_t line = 0; line < by_id.size(); ++line)
        if (!unused_coco_id(static_cast<int64_t>(line) + 1)) labels.push_back(by_id[line]);
    }
  }
  labels.resize(std::max<int64_t>(num_classes, 0));
  for (int64_t i = 0; i < num_classes; ++i)
    if (labels[i].empty()) labels[i] = std::to_string(i);
  return labels;
}

}  // namespace reskit::tasks
