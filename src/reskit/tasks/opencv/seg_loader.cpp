#include "reskit/tasks/opencv/seg_loader.h"

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "reskit/core/counter_rng.h"
#include "reskit/core/error.h"
#include "reskit/io/opencv/label_image.h"

namespace reskit::tasks {
namespace {

constexpr uint64_t kShuffleStream = 1, kFlipStream = 2;
constexpr int64_t kMaxSize = 4096, kMaxWorkers = 64;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

void check_size(int64_t size) {
  if (size < 8 || size > kMaxSize || size % 8 != 0)
    throw Error("the input size must be a multiple of 8 from 8 to " + std::to_string(kMaxSize) + ", got " +
                std::to_string(size));
}

// albumentations' Normalize(mean, std, max_pixel_value=255) in its float32
// arithmetic: (x - mean * 255) * (1 / (std * 255)).
struct Normaliser {
  float sub[3], mul[3];
};
const Normaliser& imagenet_normaliser() {
  static const Normaliser n = [] {
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    Normaliser r{};
    for (int c = 0; c < 3; ++c) {
      r.sub[c] = mean[c] * 255.0f;
      r.mul[c] = 1.0f / (std[c] * 255.0f);
    }
    return r;
  }();
  return n;
}

// RGB as PIL's convert('RGB') gives it: EXIF orientation is not applied.
cv::Mat read_rgb(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("image " + quoted(path) + " does not exist");
  cv::Mat bgr;
  try {
    bgr = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception&) {
    bgr = cv::Mat();
  }
  if (bgr.empty()) throw Error("image " + quoted(path) + " cannot be decoded");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// albumentations' Resize: cv2.resize, bilinear for the image.
cv::Mat resized(const cv::Mat& m, int64_t size, int interpolation) {
  cv::Mat out;
  cv::resize(m, out, cv::Size(static_cast<int>(size), static_cast<int>(size)), 0, 0, interpolation);
  return out;
}

// The resized RGB image as 3 x S x S normalised floats at `out`, flipped.
void write_image(const cv::Mat& rgb, SegFlips flips, float* out) {
  const Normaliser& n = imagenet_normaliser();
  const int s = rgb.rows;
  const int64_t plane = int64_t{s} * s;
  for (int y = 0; y < s; ++y) {
    const uint8_t* row = rgb.ptr<uint8_t>(flips.vertical ? s - 1 - y : y);
    for (int x = 0; x < s; ++x) {
      const uint8_t* px = row + 3 * (flips.horizontal ? s - 1 - x : x);
      const int64_t at = int64_t{y} * s + x;
      for (int c = 0; c < 3; ++c) out[c * plane + at] = (static_cast<float>(px[c]) - n.sub[c]) * n.mul[c];
    }
  }
}

void write_label(const cv::Mat& label, SegFlips flips, int64_t* out) {
  const int s = label.rows;
  for (int y = 0; y < s; ++y) {
    const uint8_t* row = label.ptr<uint8_t>(flips.vertical ? s - 1 - y : y);
    for (int x = 0; x < s; ++x) out[int64_t{y} * s + x] = row[flips.horizontal ? s - 1 - x : x];
  }
}

void load_sample(const SegSample& sample, int64_t size, const ClassColours& colours, SegFlips flips, float* image,
                 int64_t* label) {
  const cv::Mat rgb = read_rgb(sample.image);
  at::Tensor l = io::read_label_image(sample.label, colours);
  if (l.size(0) != rgb.rows || l.size(1) != rgb.cols)
    throw Error("label " + quoted(sample.label) + " is " + std::to_string(l.size(1)) + "x" + std::to_string(l.size(0)) +
                " but its image " + quoted(sample.image) + " is " + std::to_string(rgb.cols) + "x" +
                std::to_string(rgb.rows));
  const cv::Mat lm(static_cast<int>(l.size(0)), static_cast<int>(l.size(1)), CV_8U, l.data_ptr());
  write_image(resized(rgb, size, cv::INTER_LINEAR), flips, image);
  write_label(resized(lm, size, cv::INTER_NEAREST), flips, label);  // albumentations' masks: nearest
}

struct Result {
  std::optional<SegBatch> batch;
  std::exception_ptr error;
};

}  // namespace

std::vector<int64_t> seg_epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(order.begin(), order.end(), int64_t{0});
  CounterRng rng{seed, static_cast<uint64_t>(epoch), kShuffleStream};
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint64_t>(i) + 1)]);
  return order;
}

SegFlips seg_flips(uint64_t seed, int64_t epoch, int64_t index) {
  CounterRng rng{seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index), kFlipStream};
  SegFlips f;
  f.horizontal = rng.uniform() < 0.5;
  f.vertical = rng.uniform() < 0.5;
  return f;
}

std::vector<int64_t> seg_rank_order(int64_t n, const SegLoaderOptions& o, int64_t epoch) {
  std::vector<int64_t> order;
  if (o.train) {
    order = seg_epoch_order(n, o.seed, epoch);
    const int64_t total = (n + o.world_size - 1) / o.world_size * o.world_size;
    for (int64_t i = n; i < total; ++i) order.push_back(order[(i - n) % n]);
  } else {
    order.resize(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  std::vector<int64_t> mine;
  for (size_t i = static_cast<size_t>(o.rank); i < order.size(); i += static_cast<size_t>(o.world_size))
    mine.push_back(order[i]);
  return mine;
}

at::Tensor seg_input_tensor(const std::string& image_path, int64_t size) {
  check_size(size);
  at::Tensor out = at::empty({1, 3, size, size}, at::kFloat);
  write_image(resized(read_rgb(image_path), size, cv::INTER_LINEAR), SegFlips{}, out.data_ptr<float>());
  return out;
}

struct SegLoader::State {
  std::vector<SegSample> samples;
  SegLoaderOptions o;
  // The epoch: changed only while no worker runs.
  std::vector<int64_t> order;
  int64_t epoch = 0, batches = 0;
  bool started = false;

  std::mutex mutex;
  std::condition_variable work_cv, ready_cv;
  int64_t next_batch = 0, next_claim = 0;  // guarded by mutex
  std::map<int64_t, Result> ready;
  bool stopping = false;
  std::vector<std::thread> threads;

  int64_t batch_count(size_t rank_samples) const {
    const int64_t n = static_cast<int64_t>(rank_samples);
    return o.train ? n / o.batch_size : (n + o.batch_size - 1) / o.batch_size;
  }
  int64_t depth() const { return 2 * o.workers; }

  SegBatch build(int64_t b) const {
    const size_t first = static_cast<size_t>(b * o.batch_size);
    const size_t end = std::min(order.size(), first + static_cast<size_t>(o.batch_size));
    const int64_t n = static_cast<int64_t>(end - first);
    SegBatch batch;
    batch.images = at::empty({n, 3, o.size, o.size}, at::kFloat);
    batch.labels = at::empty({n, o.size, o.size}, at::kLong);
    float* images = batch.images.data_ptr<float>();
    int64_t* labels = batch.labels.data_ptr<int64_t>();
    const int64_t plane = o.size * o.size;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t index = order[first + static_cast<size_t>(i)];
      const SegFlips flips = o.train ? seg_flips(o.seed, epoch, index) : SegFlips{};
      load_sample(samples[static_cast<size_t>(index)], o.size, o.colours, flips, images + i * 3 * plane,
                  labels + i * plane);
      batch.indices.push_back(index);
    }
    return batch;
  }

  void work() {
    for (;;) {
      int64_t b = 0;
      {
        std::unique_lock<std::mutex> lock(mutex);
        work_cv.wait(lock, [&] { return stopping || (next_claim < batches && next_claim < next_batch + depth()); });
        if (stopping) return;
        b = next_claim++;
      }
      Result r;
      try {
        r.batch = build(b);
      } catch (...) {
        r.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        ready.emplace(b, std::move(r));
      }
      ready_cv.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    work_cv.notify_all();
    for (std::thread& t : threads) t.join();
    threads.clear();
    ready.clear();
    stopping = false;
  }
};

SegLoader::SegLoader(std::vector<SegSample> samples, SegLoaderOptions options) : state_(std::make_unique<State>()) {
  const SegLoaderOptions& o = options;
  check_size(o.size);
  if (o.batch_size < 1) throw Error("the batch size must be at least 1, got " + std::to_string(o.batch_size));
  if (o.workers < 0 || o.workers > kMaxWorkers)
    throw Error("the loader's workers must be 0 to " + std::to_string(kMaxWorkers) + ", got " + std::to_string(o.workers));
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size)
    throw Error("rank " + std::to_string(o.rank) + " of world size " + std::to_string(o.world_size) + " is not a rank");
  if (samples.empty()) throw Error("the loader has no samples");
  state_->samples = std::move(samples);
  state_->o = std::move(options);
  const int64_t n = static_cast<int64_t>(state_->samples.size());
  if (state_->o.train && state_->batch_count(seg_rank_order(n, state_->o, 0).size()) == 0)
    throw Error("training needs a full batch on each rank: " + std::to_string(n) + " images, batch size " +
                std::to_string(state_->o.batch_size) + ", world size " + std::to_string(state_->o.world_size));
}

SegLoader::~SegLoader() { state_->stop(); }

int64_t SegLoader::batches_per_epoch() const {
  return state_->batch_count(seg_rank_order(static_cast<int64_t>(state_->samples.size()), state_->o, 0).size());
}

int64_t SegLoader::samples_per_epoch() const {
  const size_t mine = seg_rank_order(static_cast<int64_t>(state_->samples.size()), state_->o, 0).size();
  return state_->o.train ? state_->batch_count(mine) * state_->o.batch_size : static_cast<int64_t>(mine);
}

void SegLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  State& s = *state_;
  if (epoch < 0) throw Error("epoch " + std::to_string(epoch) + " is negative");
  s.stop();
  s.order = seg_rank_order(static_cast<int64_t>(s.samples.size()), s.o, epoch);
  s.batches = s.batch_count(s.order.size());
  if (first_batch < 0 || first_batch > s.batches)
    throw Error("batch " + std::to_string(first_batch) + " is outside the epoch's " + std::to_string(s.batches));
  s.epoch = epoch;
  s.next_batch = s.next_claim = first_batch;
  s.started = true;
  for (int64_t i = 0; i < s.o.workers; ++i) s.threads.emplace_back([&s] { s.work(); });
}

std::optional<SegBatch> SegLoader::next() {
  State& s = *state_;
  if (!s.started) start_epoch(0);
  if (s.o.workers == 0) {
    if (s.next_batch >= s.batches) return std::nullopt;
    return s.build(s.next_batch++);
  }
  Result r;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    if (s.next_batch >= s.batches) return std::nullopt;
    s.ready_cv.wait(lock, [&] { return s.ready.count(s.next_batch) > 0; });
    auto it = s.ready.find(s.next_batch);
    r = std::move(it->second);
    s.ready.erase(it);
    ++s.next_batch;
  }
  s.work_cv.notify_all();
  if (r.error) std::rethrow_exception(r.error);
  return std::move(r.batch);
}

}  // namespace reskit::tasks
