#pragma once
// SSD-style detection around RFBNet, as the RFBNet code base does it:
// prior boxes (layers/functions/prior_box.py with data/config.py's
// settings), decoding with variances (utils/box_utils.py), and test_RFB.py's
// post-processing: per class, scores above a threshold, py_cpu_nms, then a
// per-image cut at the N-th best score.
#include <ATen/core/Tensor.h>

#include <array>
#include <string>
#include <vector>

namespace reskit::tasks {

enum class DetectionDataset { kVoc, kCoco };
DetectionDataset parse_detection_dataset(const std::string& word);  // "voc" | "coco"

// P x 4 float32 (cx, cy, w, h) in [0, 1] for a size x size input (300 or 512),
// in the order of RFBNet's heads: source map, row, column, box.
at::Tensor prior_boxes(int64_t size, DetectionDataset dataset);

// Box offsets (P x 4) against the priors (P x 4) to corners (x1, y1, x2, y2)
// in [0, 1] units, with variances 0.1 (centre) and 0.2 (size).
at::Tensor decode_boxes(const at::Tensor& loc, const at::Tensor& priors);

struct Detection {
  int64_t cls = 0;  // 1 .. num_classes - 1 (0 is the background)
  float score = 0;
  std::array<float, 4> box{};  // x1, y1, x2, y2 in pixels of the original image
};

struct PostprocessOptions {
  double threshold = 0.5;        // a class's scores above it are candidates
  double nms_iou = 0.45;         // NMS drops boxes overlapping a kept one by more
  int64_t max_detections = 200;  // per image: keeps every box scoring at least the N-th score (0: no cut)
};

// Indices of the boxes NMS keeps, best first: py_cpu_nms with its +1 pixel
// areas, in float32 as it runs. Equal scores keep the lower index first
// (upstream's argsort()[::-1] puts the higher first on small arrays and
// follows numpy's unstable sort on large ones).
std::vector<int64_t> nms(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold);

// boxes: P x 4 pixels, scores: P x C probabilities. Detections by class,
// then in NMS order.
std::vector<Detection> postprocess(const at::Tensor& boxes, const at::Tensor& scores, const PostprocessOptions& options);

// A detector's outputs for one image, box offsets P x 4 and class
// probabilities P x C, to detections in pixels of a width x height image:
// decode, scale (not clipped, as upstream), post-process.
std::vector<Detection> detections_from_outputs(const at::Tensor& loc, const at::Tensor& scores, const at::Tensor& priors,
                                               int64_t width, int64_t height, const PostprocessOptions& options);

// VOC's 20 classes in RFBNet's order (index 1..20; 0 is the background).
const std::vector<std::string>& voc_classes();

// The dataset whose priors and names fit a model of `num_classes` classes
// when none is asked for: COCO for 81, VOC otherwise.
DetectionDataset dataset_for_classes(int64_t num_classes);

// Class names by RFBNet's index: "__background__" then VOC's 20 or COCO's 80
// contiguous classes. An empty path uses Debian's opencv-doc lists, mapped to
// RFBNet's order (the VOC list lacks the background; the COCO list has 90
// lines in COCO's category-id space, ten of them ids COCO never uses); a
// given file has one name per class index, background first. Names missing
// beyond the list are the class index.
std::vector<std::string> detection_labels(DetectionDataset dataset, int64_t num_classes, const std::string& path);

}  // namespace reskit::tasks
