#pragma once
// Segmentation metrics over a confusion matrix (rows: target, columns:
// prediction), pixels labelled kIgnoreLabel (or outside 0..num_classes-1) left out:
//   pixel accuracy = correct / counted pixels (mmseg's aAcc);
//   seed accuracy  = correct / all pixels (seeds/004's d2l.accuracy, which
//                    counts ignored pixels as wrong);
//   IoU_c = TP / (TP + FP + FN), NaN when class c is in neither target nor
//   prediction; mIoU = the mean over the classes that are not NaN (mmseg's nanmean);
//   class accuracy_c = TP / target pixels of c (mmseg's Acc), NaN when c is not in the target.
// mmseg (IoUMetric.intersect_and_union) masks only ignore_index, so a label
// >= num_classes still counts its pixel's prediction as a false positive;
// here such a label is ignored like kIgnoreLabel: a data set labelled with
// more classes than the model has is not scored as the model's mistakes.
// Every ratio with nothing to count is NaN.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace reskit::tasks {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t num_classes);
  // `predicted`, `target`: integer tensors of one shape (N x H x W), on any
  // device; a prediction outside 0..num_classes-1 is an error.
  void add(const at::Tensor& predicted, const at::Tensor& target);
  // Everything the metrics need, as one int64 tensor of num_classes^2 + 1
  // values: the matrix row-major, then all pixels (ignored ones included).
  // Summing it across distributed ranks and set_counts() on the sum merges
  // the ranks' matrices exactly.
  at::Tensor counts() const;
  void set_counts(const at::Tensor& counts);
  void merge(const ConfusionMatrix& other);
  int64_t num_classes() const { return num_classes_; }

  at::Tensor matrix() const;  // num_classes x num_classes, int64
  int64_t all_pixels() const { return all_pixels_; }
  int64_t counted_pixels() const;
  int64_t correct_pixels() const;
  std::vector<int64_t> target_pixels() const;  // per class: the matrix's row sums

  double pixel_accuracy() const;
  double seed_accuracy() const;
  std::vector<double> class_iou() const;
  std::vector<double> class_accuracy() const;
  double mean_iou() const;

 private:
  int64_t at(int64_t target, int64_t predicted) const { return counts_[target * num_classes_ + predicted]; }

  int64_t num_classes_;
  int64_t all_pixels_ = 0;  // ignored ones included, for seed_accuracy
  std::vector<int64_t> counts_;
};

}  // namespace reskit::tasks
