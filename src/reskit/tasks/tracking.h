#pragma once
// Single-object tracking as SiamBAN's tracker does it (hqucv/siamban's
// SiamBANTracker, pysot's conventions), the parts that need no image
// library: the settings (cfg.TRACK and cfg.POINT, read from the official
// config.yaml files), the response map's points and cosine window, the box
// decoding, the scale/ratio penalty and the state update. Crops and the
// loop over frames are tasks/opencv/tracker.h.
//
// Precision follows the official tracker under numpy 1.x: the network's
// outputs, the decoded boxes and the penalty stay float32 (numpy keeps a
// float32 array float32 against float64 scalars), the window and the
// tracker's state (centre, size, learning rate) are float64.
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace reskit::tasks {

// x, y of the top-left corner, width, height, in pixels (pysot's boxes: a
// box's centre is x + (w - 1) / 2; datasets' files are read unchanged).
struct TrackBox {
  double x = 0, y = 0, w = 0, h = 0;
};

struct TrackerConfig {
  std::string name = "siamban_r50_l234";  // the experiment the values come from
  double penalty_k = 0.08513642556896711;
  double window_influence = 0.4632532824922313;
  double lr = 0.44418184746462425;
  int64_t exemplar_size = 127, instance_size = 255, base_size = 8;
  double context_amount = 0.5;
  int64_t point_stride = 8;
};

// The official experiments' settings: "siamban_r50_l234" (VOT2018's values,
// the default) or "siamban_r50_l234_otb" (OTB100's, for OPE evaluation).
TrackerConfig tracker_config(const std::string& experiment);
// A config.yaml (or the same as JSON) with the official keys: TRACK's
// PENALTY_K, WINDOW_INFLUENCE, LR, EXEMPLAR_SIZE, INSTANCE_SIZE, BASE_SIZE,
// CONTEXT_AMOUNT, POINT's STRIDE, META_ARC as the name. What the file leaves
// out keeps core/config.py's defaults (which the file overrides upstream);
// the rest of it (BAN, TRAIN, DATASET, ...) is the model's or training's: the
// model's options say its class channels, and the scores follow its output.
// A value of the wrong type or out of range is a one-line error naming the
// key and the file.
TrackerConfig read_tracker_config(const std::string& path);

// The response map's side: (INSTANCE_SIZE - EXEMPLAR_SIZE) / STRIDE + 1 + BASE_SIZE.
int64_t score_size(const TrackerConfig& config);
// (size * size) x 2 float32 (x, y) offsets of the cells from the search
// crop's centre, row-major: stride * (k - size / 2).
at::Tensor tracker_points(int64_t stride, int64_t size);
// np.outer(np.hanning(size), np.hanning(size)).ravel(): size * size float64.
at::Tensor cosine_window(int64_t size);

// sqrt((w + p)(h + p)), p = context_amount * (w + h): the side of the
// square crop around a target of that size, context included.
double context_side(double w, double h, double context_amount);

// cls (1 x C x S x S) to the S*S foreground probabilities (float32,
// row-major): a softmax's channel 1, or the sigmoid when C is 1.
at::Tensor foreground_scores(const at::Tensor& cls);
// loc (1 x 4 x S x S: distances to the left, top, right, bottom edges) around
// the points to 4 x S*S float32 (cx, cy, w, h) relative to the crop's centre.
at::Tensor decode_point_boxes(const at::Tensor& loc, const at::Tensor& points);

// The choice among the cells for one frame.
struct TrackChoice {
  at::Tensor penalty, pscore;    // S*S: the scale/ratio penalty (float32), the windowed score
  int64_t best_idx = 0;
  std::array<double, 4> box{};   // the best cell's cx, cy, w, h in image pixels (relative centre)
  double lr = 0;                 // penalty * score * LR at the best cell
  double score = 0;              // the foreground score there
};
// score (S*S), boxes (4 x S*S, crop pixels), the current size (w, h, image
// pixels) and the crop's scale: the penalised, windowed choice.
TrackChoice choose_box(const at::Tensor& score, const at::Tensor& boxes, double width, double height, double scale_z,
                       const at::Tensor& window, const TrackerConfig& config);

// The tracker's state: the target's centre and size in image pixels.
struct TrackState {
  double cx = 0, cy = 0, w = 0, h = 0;
  TrackBox box() const { return {cx - w / 2, cy - h / 2, w, h}; }
};
// pysot's init: the centre of a box is x + (w - 1) / 2.
TrackState state_of(const TrackBox& box);
// The centre moves by the choice's box, the size towards it by lr; both are
// clipped to the image, sizes at least 10.
TrackState update_state(const TrackState& state, const TrackChoice& choice, int64_t image_width, int64_t image_height);

}  // namespace reskit::tasks
