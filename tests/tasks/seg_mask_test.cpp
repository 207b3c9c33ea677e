// mask_from_logits against LibTorch's own upsample_bilinear2d
// (align_corners=False, what F.interpolate does) + argmax, over up- and
// down-sampling, odd sizes and several bands of rows.
#include <gtest/gtest.h>

#include "reskit/core/error.h"
#include "reskit/tasks/seg_mask.h"
#include "test_util.h"

namespace reskit {
namespace {

// Equal to the reference's argmax, except where the reference's two best
// classes are within float rounding of each other (the sums run in another order).
void expect_same_mask(const at::Tensor& logits, int64_t h, int64_t w) {
  const at::Tensor mask = tasks::mask_from_logits(logits, h, w);
  ASSERT_EQ(mask.sizes(), at::IntArrayRef({h, w}));
  ASSERT_EQ(mask.scalar_type(), at::kLong);
  const at::Tensor up = at::upsample_bilinear2d(logits.unsqueeze(0), {h, w}, false)[0];
  const at::Tensor expected = up.argmax(0);
  const at::Tensor differ = mask != expected;
  const int64_t n = differ.sum().item<int64_t>();
  if (n == 0) return;
  const at::Tensor ours = up.gather(0, mask.unsqueeze(0))[0], best = std::get<0>(up.max(0));
  const double gap = (best - ours).masked_select(differ).max().item<double>();
  EXPECT_LT(gap, 1e-5) << n << " of " << h * w << " pixels differ, by up to " << gap << " in logit";
}

TEST(SegMask, EqualsUpsampleBilinearAndArgmax) {
  at::manual_seed(3);
  expect_same_mask(at::randn({5, 7, 9}), 61, 45);     // up, odd factors
  expect_same_mask(at::randn({4, 32, 40}), 13, 17);   // down
  expect_same_mask(at::randn({3, 8, 8}), 8, 8);       // same size
  expect_same_mask(at::randn({2, 1, 1}), 5, 3);       // one source pixel
  expect_same_mask(at::randn({33, 19, 250}), 150, 2000);  // several bands of rows
}

TEST(SegMask, BatchOfOneAndErrors) {
  const at::Tensor logits = at::randn({1, 3, 4, 5});
  EXPECT_TRUE(at::equal(tasks::mask_from_logits(logits, 9, 11), tasks::mask_from_logits(logits[0], 9, 11)));
  EXPECT_THROW(tasks::mask_from_logits(at::randn({2, 3, 4, 5}), 8, 8), Error);
  EXPECT_THROW(tasks::mask_from_logits(at::randn({3, 4}), 8, 8), Error);
  EXPECT_THROW(tasks::mask_from_logits(logits, 0, 8), Error);
  EXPECT_THROW(tasks::mask_from_logits(logits, 8, 1 << 20), Error);
}

}  // namespace
}  // namespace reskit
