// The confusion matrix and its metrics against mmsegmentation's IoUMetric
// (intersect_and_union + total_area_to_metrics, run by make_seg_metrics.py)
// on random predictions with ignored pixels, stray labels and absent classes;
// merging across ranks through counts(); bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "reskit/core/error.h"
#include "reskit/io/npy.h"
#include "reskit/tasks/seg_metrics.h"
#include "test_util.h"

namespace reskit {
namespace {

struct Case {
  at::Tensor pred, target;
  nlohmann::json expected;
};

Case load_case(const std::string& name) {
  const std::string dir = test::fixture("seg_metrics/" + name);
  return {io::read_npy(dir + "/pred.npy").to(at::kLong), io::read_npy(dir + "/target.npy").to(at::kLong),
          test::read_json(dir + "/expected.json")};
}

// A reference value (null: NaN) against ours; mmseg computes in float32.
void expect_value(const nlohmann::json& expected, double actual, const std::string& what) {
  if (expected.is_null()) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": expected NaN, got " << actual;
  } else {
    EXPECT_NEAR(actual, expected.get<double>(), 1e-6) << what;
  }
}

void expect_matches(const tasks::ConfusionMatrix& m, const nlohmann::json& e, const std::string& name) {
  const int64_t c = e["num_classes"].get<int64_t>();
  ASSERT_EQ(m.num_classes(), c);
  const at::Tensor matrix = m.matrix();
  const at::Tensor label = matrix.sum(1), pred = matrix.sum(0), inter = matrix.diagonal();
  for (int64_t k = 0; k < c; ++k) {
    EXPECT_EQ(label[k].item<int64_t>(), e["area_label"][k].get<double>()) << name << " class " << k;
    EXPECT_EQ(pred[k].item<int64_t>(), e["area_pred_label"][k].get<double>()) << name << " class " << k;
    EXPECT_EQ(inter[k].item<int64_t>(), e["area_intersect"][k].get<double>()) << name << " class " << k;
  }
  const std::vector<double> iou = m.class_iou(), acc = m.class_accuracy();
  for (int64_t k = 0; k < c; ++k) {
    expect_value(e["IoU"][k], iou[k], name + " IoU " + std::to_string(k));
    expect_value(e["Acc"][k], acc[k], name + " Acc " + std::to_string(k));
  }
  expect_value(e["aAcc"], m.pixel_accuracy(), name + " aAcc");
  expect_value(e["mIoU"], m.mean_iou(), name + " mIoU");
  EXPECT_NEAR(m.seed_accuracy(), e["seed_accuracy"].get<double>(), 1e-12) << name;
  EXPECT_EQ(m.all_pixels(), e["all_pixels"].get<int64_t>()) << name;
}

const char* const kCases[] = {"absent_classes", "camvid_33", "one_image_ignored"};

TEST(ConfusionMatrix, MatchesMmsegIoUMetric) {
  for (const char* name : kCases) {
    const Case c = load_case(name);
    tasks::ConfusionMatrix whole(c.expected["num_classes"].get<int64_t>());
    whole.add(c.pred, c.target);
    expect_matches(whole, c.expected, name);
    tasks::ConfusionMatrix by_image(whole.num_classes());
    for (int64_t i = 0; i < c.pred.size(0); ++i) by_image.add(c.pred[i], c.target[i].to(at::kByte));
    EXPECT_TRUE(at::equal(by_image.counts(), whole.counts())) << name;
  }
}

// Two "ranks" with a part of the images each: summing counts() and
// set_counts() gives the whole's matrix and pixel count, so every metric.
TEST(ConfusionMatrix, CountsMergeAcrossRanks) {
  for (const char* name : kCases) {
    const Case c = load_case(name);
    const int64_t classes = c.expected["num_classes"].get<int64_t>(), split = c.expected["split"].get<int64_t>();
    tasks::ConfusionMatrix rank0(classes), rank1(classes), merged(classes), summed(classes);
    rank0.add(c.pred.narrow(0, 0, split), c.target.narrow(0, 0, split));
    rank1.add(c.pred.narrow(0, split, c.pred.size(0) - split), c.target.narrow(0, split, c.pred.size(0) - split));
    EXPECT_NE(rank0.all_pixels(), 0);
    summed.set_counts(rank0.counts() + rank1.counts());
    expect_matches(summed, c.expected, std::string(name) + " (all-reduced)");
    merged.merge(rank0);
    merged.merge(rank1);
    EXPECT_TRUE(at::equal(merged.counts(), summed.counts())) << name;
  }
}

TEST(ConfusionMatrix, EmptyIsNaNAndCountsCarryAllPixels) {
  tasks::ConfusionMatrix m(3);
  EXPECT_TRUE(std::isnan(m.pixel_accuracy()));
  EXPECT_TRUE(std::isnan(m.seed_accuracy()));
  EXPECT_TRUE(std::isnan(m.mean_iou()));
  m.add(at::zeros({1, 2, 2}, at::kLong), at::full({1, 2, 2}, 255, at::kLong));
  EXPECT_EQ(m.counts().size(0), 3 * 3 + 1);
  EXPECT_EQ(m.counts()[9].item<int64_t>(), 4);  // the ignored pixels, for the seed accuracy
  EXPECT_EQ(m.counted_pixels(), 0);
  EXPECT_EQ(m.seed_accuracy(), 0);
  EXPECT_TRUE(std::isnan(m.pixel_accuracy()));
}

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one with '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ConfusionMatrix, BadInputIsAnError) {
  tasks::ConfusionMatrix m(4);
  expect_error([] { tasks::ConfusionMatrix(0); }, "num_classes");
  expect_error([] { tasks::ConfusionMatrix(1 << 20); }, "num_classes");
  expect_error([&] { m.add(at::zeros({2, 3}, at::kLong), at::zeros({3, 2}, at::kLong)); }, "differ in shape");
  expect_error([&] { m.add(at::zeros({2, 3}), at::zeros({2, 3}, at::kLong)); }, "integers");
  expect_error([&] { m.add(at::full({2, 3}, 4, at::kLong), at::zeros({2, 3}, at::kLong)); }, "class 4");
  expect_error([&] { m.add(at::full({2, 3}, -1, at::kLong), at::zeros({2, 3}, at::kLong)); }, "class -1");
  expect_error([&] { m.set_counts(at::zeros({16}, at::kLong)); }, "17 integers");
  at::Tensor negative = at::zeros({17}, at::kLong);
  negative[3] = -1;
  expect_error([&] { m.set_counts(negative); }, "negative");
  at::Tensor too_few = at::ones({17}, at::kLong);
  too_few[16] = 2;
  expect_error([&] { m.set_counts(too_few); }, "fewer pixels");
  expect_error([&] { m.merge(tasks::ConfusionMatrix(5)); }, "merge");
  EXPECT_EQ(m.all_pixels(), 0);  // nothing was half-added
}

}  // namespace
}  // namespace reskit
