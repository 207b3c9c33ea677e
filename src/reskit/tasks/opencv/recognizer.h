#pragma once
// A video recogniser (i3d_r50) from a video file or a directory of frames to
// class probabilities, as mmaction2's test pipeline runs it: OpenCV decoding
// of the sampled frames only, resize, crops, RGB normalisation, one forward
// per view (clip x crop), probabilities averaged over the views.
#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "reskit/core/progress.h"
#include "reskit/models/registry.h"
#include "reskit/tasks/engine_runner.h"
#include "reskit/tasks/recognition.h"

namespace reskit::tasks {

struct Recognition {
  int64_t total_frames = 0;
  std::vector<std::vector<int64_t>> clips;  // frame indices per clip
  int64_t views = 0;                        // clips x crops
  at::Tensor probabilities;                 // num_classes, averaged over the views
};

class Recognizer {
 public:
  Recognizer(const models::Model& model, c10::Device device, RecognitionProtocol protocol,
             Engine engine = Engine::kEager);
  Recognition recognize(const std::string& path, Progress::Style progress) const;
  const RecognitionProtocol& protocol() const { return protocol_; }

 private:
  const models::Model& model_;
  c10::Device device_;
  RecognitionProtocol protocol_;
  EngineRunner forward_;
};

}  // namespace reskit::tasks
