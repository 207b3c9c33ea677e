#include "reskit/tasks/seg_metrics.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "reskit/core/error.h"
#include "reskit/tasks/seg_data.h"

namespace reskit::tasks {
namespace {

// The matrix is num_classes^2 counters: a bound keeps a typo from asking for gigabytes.
constexpr int64_t kMaxConfusionClasses = 1024;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(int64_t num, int64_t den) { return den == 0 ? kNaN : static_cast<double>(num) / static_cast<double>(den); }

std::string shape_text(const at::Tensor& t) {
  std::string s;
  for (int64_t d : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s.empty() ? "a scalar" : s;
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(int64_t num_classes) : num_classes_(num_classes) {
  if (num_classes < 1 || num_classes > kMaxConfusionClasses)
    throw Error("confusion matrix: num_classes must be within 1.." + std::to_string(kMaxConfusionClasses) + ", got " +
                std::to_string(num_classes));
  counts_.assign(static_cast<size_t>(num_classes * num_classes), 0);
}

void ConfusionMatrix::add(const at::Tensor& predicted, const at::Tensor& target) {
  if (!predicted.defined() || !target.defined()) throw Error("confusion matrix: an undefined prediction or target");
  if (predicted.sizes() != target.sizes())
    throw Error("confusion matrix: predictions " + shape_text(predicted) + " and targets " + shape_text(target) +
                " differ in shape");
  if (!at::isIntegralType(predicted.scalar_type(), false) || !at::isIntegralType(target.scalar_type(), false))
    throw Error("confusion matrix: predictions and targets must be class indices (integers)");
  if (predicted.numel() == 0) return;
  const at::Tensor p = predicted.reshape(-1).to(at::kLong);
  const at::Tensor t = target.reshape(-1).to(p.device(), at::kLong);
  const int64_t low = p.min().item<int64_t>(), high = p.max().item<int64_t>();
  if (low < 0 || high >= num_classes_)
    throw Error("confusion matrix: a prediction of class " + std::to_string(low < 0 ? low : high) + " outside 0.." +
                std::to_string(num_classes_ - 1));
  const at::Tensor valid = (t >= 0) & (t < num_classes_) & (t != kIgnoreLabel);
  const at::Tensor index = t.masked_select(valid) * num_classes_ + p.masked_select(valid);
  const at::Tensor hist = at::bincount(index, {}, num_classes_ * num_classes_).to(at::kCPU, at::kLong).contiguous();
  const int64_t* h = hist.data_ptr<int64_t>();
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += h[i];
  all_pixels_ += predicted.numel();
}

at::Tensor ConfusionMatrix::counts() const {
  at::Tensor out = at::empty({num_classes_ * num_classes_ + 1}, at::kLong);
  int64_t* o = out.data_ptr<int64_t>();
  std::copy(counts_.begin(), counts_.end(), o);
  o[counts_.size()] = all_pixels_;
  return out;
}

void ConfusionMatrix::set_counts(const at::Tensor& counts) {
  const int64_t expected = num_classes_ * num_classes_ + 1;
  if (!counts.defined() || counts.numel() != expected || !at::isIntegralType(counts.scalar_type(), false))
    throw Error("confusion matrix: counts must be " + std::to_string(expected) + " integers for " +
                std::to_string(num_classes_) + " classes, got " + (counts.defined() ? shape_text(counts) : "none"));
  const at::Tensor c = counts.reshape(-1).to(at::kCPU, at::kLong).contiguous();
  const int64_t* v = c.data_ptr<int64_t>();
  int64_t matrix_sum = 0;
  for (int64_t i = 0; i < expected; ++i) {
    if (v[i] < 0) throw Error("confusion matrix: a negative count");
    if (i + 1 < expected) matrix_sum += v[i];
  }
  if (v[expected - 1] < matrix_sum) throw Error("confusion matrix: fewer pixels than the matrix counts");
  std::copy(v, v + expected - 1, counts_.begin());
  all_pixels_ = v[expected - 1];
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  if (other.num_classes_ != num_classes_)
    throw Error("confusion matrix: cannot merge " + std::to_string(other.num_classes_) + " classes into " +
                std::to_string(num_classes_));
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  all_pixels_ += other.all_pixels_;
}

at::Tensor ConfusionMatrix::matrix() const { return counts().narrow(0, 0, num_classes_ * num_classes_).view({num_classes_, num_classes_}); }

int64_t ConfusionMatrix::counted_pixels() const { return std::accumulate(counts_.begin(), counts_.end(), int64_t{0}); }

int64_t ConfusionMatrix::correct_pixels() const {
  int64_t correct = 0;
  for (int64_t c = 0; c < num_classes_; ++c) correct += at(c, c);
  return correct;
}

std::vector<int64_t> ConfusionMatrix::target_pixels() const {
  std::vector<int64_t> rows(static_cast<size_t>(num_classes_), 0);
  for (int64_t t = 0; t < num_classes_; ++t)
    for (int64_t p = 0; p < num_classes_; ++p) rows[t] += at(t, p);
  return rows;
}

double ConfusionMatrix::pixel_accuracy() const { return ratio(correct_pixels(), counted_pixels()); }

double ConfusionMatrix::seed_accuracy() const { return ratio(correct_pixels(), all_pixels_); }

std::vector<double> ConfusionMatrix::class_iou() const {
  const std::vector<int64_t> rows = target_pixels();
  std::vector<int64_t> cols(static_cast<size_t>(num_classes_), 0);
  for (int64_t t = 0; t < num_classes_; ++t)
    for (int64_t p = 0; p < num_classes_; ++p) cols[p] += at(t, p);
  std::vector<double> iou;
  for (int64_t c = 0; c < num_classes_; ++c) iou.push_back(ratio(at(c, c), rows[c] + cols[c] - at(c, c)));
  return iou;
}

std::vector<double> ConfusionMatrix::class_accuracy() const {
  const std::vector<int64_t> rows = target_pixels();
  std::vector<double> acc;
  for (int64_t c = 0; c < num_classes_; ++c) acc.push_back(ratio(at(c, c), rows[c]));
  return acc;
}

double ConfusionMatrix::mean_iou() const {
  double sum = 0;
  int64_t n = 0;
  for (double v : class_iou())
    if (!std::isnan(v)) sum += v, ++n;
  return n == 0 ? kNaN : sum / static_cast<double>(n);
}

}  // namespace reskit::tasks
