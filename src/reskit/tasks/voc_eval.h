#pragma once
// PASCAL VOC detection evaluation as the RFBNet code base runs it
// (data/voc0712.py + data/voc_eval.py): per class, detections over all
// images by descending score, a hit when IoU (with +1 pixel areas) with an
// unmatched ground-truth box exceeds 0.5, difficult boxes neither counted
// nor penalised, and VOC07's 11-point average precision.
#include <array>
#include <string>
#include <vector>

#include "reskit/io/voc_annotation.h"

namespace reskit::tasks {

// A VOC-layout folder: JPEGImages/ID.jpg, Annotations/ID.xml and the ids of
// ImageSets/Main/test.txt.
struct VocDataset {
  std::string root;
  std::vector<std::string> ids;
  std::string image_path(const std::string& id) const;
  std::string annotation_path(const std::string& id) const;
};
VocDataset open_voc_dataset(const std::string& root);

struct ClassDetection {
  size_t image = 0;  // index into the dataset's ids
  float score = 0;
  std::array<float, 4> box{};  // x1, y1, x2, y2, as the detector returns them (0-based pixels)
};

// VOC07 11-point AP of one class. Upstream writes detections to text with
// 3 decimals for the score and 1 for the (1-based) corners and evaluates what
// it reads back; this does the same rounding. Equal scores keep the order
// given (upstream's numpy sort leaves ties undefined). No positives: AP 0.
double voc07_average_precision(const std::vector<ClassDetection>& detections,
                               const std::vector<std::vector<io::VocObject>>& ground_truth, const std::string& name);

}  // namespace reskit::tasks
