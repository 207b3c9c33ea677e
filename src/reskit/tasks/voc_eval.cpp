#include "reskit/tasks/voc_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "reskit/core/error.h"
#include "reskit/tasks/detection.h"

namespace reskit::tasks {
namespace {

// Python's '{:.Nf}'.format(v) read back by float().
double rounded(double v, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return std::strtod(text, nullptr);
}

}  // namespace

std::string VocDataset::image_path(const std::string& id) const { return root + "/JPEGImages/" + id + ".jpg"; }
std::string VocDataset::annotation_path(const std::string& id) const { return root + "/Annotations/" + id + ".xml"; }

VocDataset open_voc_dataset(const std::string& root) {
  const std::string list = root + "/ImageSets/Main/test.txt";
  if (!std::filesystem::is_directory(root)) throw Error("'" + root + "' is not a directory");
  if (!std::filesystem::is_regular_file(list))
    throw Error("'" + root + "' is not a VOC-layout folder: no ImageSets/Main/test.txt");
  VocDataset data{root, {}};
  std::ifstream in(list);
  for (std::string line; std::getline(in, line);) {
    const size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    const size_t end = line.find_last_not_of(" \t\r");
    data.ids.push_back(line.substr(begin, end - begin + 1));
  }
  if (data.ids.empty()) throw Error(list + " lists no images");
  return data;
}

double voc07_average_precision(const std::vector<ClassDetection>& detections,
                               const std::vector<std::vector<io::VocObject>>& ground_truth, const std::string& name) {
  struct Truth {
    std::vector<std::array<double, 4>> boxes;
    std::vector<bool> difficult, matched;
  };
  std::vector<Truth> truth(ground_truth.size());
  int64_t positives = 0;
  for (size_t i = 0; i < ground_truth.size(); ++i)
    for (const io::VocObject& o : ground_truth[i]) {
      if (o.name != name) continue;
      truth[i].boxes.push_back({o.xmin, o.ymin, o.xmax, o.ymax});
      truth[i].difficult.push_back(o.difficult);
      truth[i].matched.push_back(false);
      if (!o.difficult) ++positives;
    }
  if (positives == 0) return 0.0;

  struct Scored {
    size_t image;
    double score;
    std::array<double, 4> box;
  };
  std::vector<Scored> dets;
  for (const ClassDetection& d : detections) {
    if (d.image >= truth.size()) throw Error("voc eval: a detection names image " + std::to_string(d.image));
    // Upstream adds the 1 in float32, then formats.
    auto corner = [&](int k) { return rounded(static_cast<double>(d.box[k] + 1.0f), 1); };
    dets.push_back({d.image, rounded(d.score, 3), {corner(0), corner(1), corner(2), corner(3)}});
  }
  std::stable_sort(dets.begin(), dets.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });

  std::vector<double> tp(dets.size(), 0), fp(dets.size(), 0);
  for (size_t d = 0; d < dets.size(); ++d) {
    Truth& t = truth[dets[d].image];
    const auto& bb = dets[d].box;
    double best = -INFINITY;
    size_t best_j = 0;
    for (size_t j = 0; j < t.boxes.size(); ++j) {
      const auto& g = t.boxes[j];
      const double iw = std::max(std::min(g[2], bb[2]) - std::max(g[0], bb[0]) + 1.0, 0.0);
      const double ih = std::max(std::min(g[3], bb[3]) - std::max(g[1], bb[1]) + 1.0, 0.0);
      const double inter = iw * ih;
      const double uni = (bb[2] - bb[0] + 1.0) * (bb[3] - bb[1] + 1.0) + (g[2] - g[0] + 1.0) * (g[3] - g[1] + 1.0) - inter;
      const double overlap = inter / uni;
      if (std::isnan(overlap)) {  // np.max is then NaN: no match, a false positive
        best = overlap;
        break;
      }
      if (overlap > best) {  // np.argmax: the first of equal maxima
        best = overlap;
        best_j = j;
      }
    }
    if (best > 0.5) {
      if (!t.difficult[best_j]) {
        if (!t.matched[best_j]) {
          tp[d] = 1;
          t.matched[best_j] = true;
        } else {
          fp[d] = 1;
        }
      }
    } else {
      fp[d] = 1;
    }
  }
  std::partial_sum(tp.begin(), tp.end(), tp.begin());
  std::partial_sum(fp.begin(), fp.end(), fp.begin());
  double ap = 0;
  for (int step = 0; step <= 10; ++step) {
    const double t = step * 0.1;  // np.arange(0., 1.1, 0.1): 0.30000000000000004, ...
    double p = 0;
    for (size_t d = 0; d < dets.size(); ++d) {
      const double recall = tp[d] / static_cast<double>(positives);
      const double precision = tp[d] / std::max(tp[d] + fp[d], 2.220446049250313e-16);
      if (recall >= t) p = std::max(p, precision);
    }
    ap += p / 11.0;
  }
  return ap;
}

}  // namespace reskit::tasks
